/** dynalite in its own process, so that the lease table's work is not counted as the consumer's CPU. */
import { startLocalDynamoDb } from '../../lib/testing';

startLocalDynamoDb({ port: Number(process.argv[2]) }).then(
  () => process.send?.('ready'),
  (error: unknown) => {
    console.error('bench dynalite-server: dynalite did not start:', error);
    process.exit(1);
  },
);
