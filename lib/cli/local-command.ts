import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createStream, startLocalEmulators } from '../testing';
import type { Io } from './io';
import { UsageError } from './usage';

/** `local`: the embedded emulators until Ctrl+C, with a stream and the options to paste. */
export async function localCommand(flags: { stream?: string; shards?: string; json?: boolean }, io: Io): Promise<number> {
  const stream = flags.stream ?? 'orders';
  const shards = Number(flags.shards ?? '4');
  if (!Number.isInteger(shards) || shards < 1) throw new UsageError(`--shards must be a whole number >= 1, got '${flags.shards}'.`);
  const emulators = await startLocalEmulators();
  try {
    const { region, workerOptions } = emulators;
    const kinesis = new KinesisClient({ region, ...workerOptions.kinesis, requestHandler: new NodeHttpHandler() });
    await createStream(kinesis, stream, shards);
    kinesis.destroy();
    const env = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_KINESIS: emulators.kinesis.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodb.endpoint,
    };
    if (flags.json) {
      // One line: a script reads it, then stops the emulators with SIGINT or SIGTERM.
      io.out(
        JSON.stringify({
          kinesisEndpoint: emulators.kinesis.endpoint,
          dynamodbEndpoint: emulators.dynamodb.endpoint,
          region,
          stream,
          shards,
          options: { appName: 'my-app', region, kinesis: workerOptions.kinesis, dynamodb: workerOptions.dynamodb },
          env,
        }),
      );
    } else {
      io.out(
        [
          `kinesis-local  ${emulators.kinesis.endpoint}  (stream '${stream}', ${shards} shards)`,
          `dynalite       ${emulators.dynamodb.endpoint}`,
          '',
          'KinesisWorkerModule.forRoot(' +
            JSON.stringify({ appName: 'my-app', region, kinesis: workerOptions.kinesis, dynamodb: workerOptions.dynamodb }, null, 2) +
            ')',
          '',
          `Or: ${Object.entries(env)
            .map(([name, value]) => `${name}=${value}`)
            .join(' ')}`,
          'Ctrl+C stops both.',
        ].join('\n'),
      );
    }
    while (await io.wait(60_000));
    return 0;
  } finally {
    await emulators.stop();
    io.err('Emulators stopped.');
  }
}
