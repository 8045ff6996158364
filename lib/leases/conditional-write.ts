import type { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../core/aws-errors';

/**
 * Sends a conditional write; false when its condition failed. A failed condition is an answer about the
 * row (somebody else wrote it first), which the caller decides on; every other error is a failure and
 * propagates.
 */
export async function conditionalWrite(
  client: DynamoDBClient,
  command: PutItemCommand | UpdateItemCommand | DeleteItemCommand,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  try {
    await client.send(command as UpdateItemCommand, { abortSignal });
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
