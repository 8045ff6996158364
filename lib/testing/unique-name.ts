import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test uses, in this process or another: the prefix, the process id, a counter and a
 * random suffix. Kinesis stream and DynamoDB table names allow [a-zA-Z0-9_.-].
 */
export function uniqueTestName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
}
