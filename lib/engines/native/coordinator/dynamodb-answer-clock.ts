import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../../../core/aws-errors';
import { monotonicNow, type MonotonicClock } from '../leases/clock';

/**
 * When DynamoDB last answered one of this worker's calls, after the SDK's own retries: a success, or a
 * failed condition (an answer about the row, not a failure to reach the table). A worker that lost every
 * lease in a long outage holds nothing whose renewal could fail, so msSinceLeaseRenewal says nothing;
 * this clock keeps growing instead, because its taker's scans fail too.
 */
export class DynamoDbAnswerClock {
  private lastAnswerAt: number;

  constructor(
    client: DynamoDBClient,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {
    // Counting from creation: a worker that never reached DynamoDB is as unhealthy as one cut off since.
    this.lastAnswerAt = clock();
    client.middlewareStack.add(
      (next) => async (args) => {
        try {
          const output = await next(args);
          this.lastAnswerAt = this.clock();
          return output;
        } catch (error) {
          if (isConditionalCheckFailed(error)) this.lastAnswerAt = this.clock();
          throw error;
        }
      },
      { step: 'initialize', name: 'kinesisWorkerDynamoDbAnswerClock' },
    );
  }

  msSinceLastAnswer(): number {
    return this.clock() - this.lastAnswerAt;
  }
}
