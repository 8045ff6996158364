import {
  describeError,
  isAccessDenied,
  isCredentialsError,
  isRegionMissing,
  isRejectedCredentials,
  isResourceNotFound,
  isThrottling,
  isTransientAwsError,
} from '../core/aws-errors';
import type { CliDynamoDb } from './aws-clients';

/** A failure already put into words for the operator: main prints its message and exits 1, never a stack trace. */
export class CliError extends Error {}

/** What the CLI was doing when an AWS call failed. */
export interface AwsCallContext {
  readonly dynamodb: CliDynamoDb;
  readonly appName: string;
  readonly tableName: string;
  /** The IAM action of the call, e.g. `dynamodb:Scan`. */
  readonly action: string;
  /** What had already been done when it failed (a reset stopped half-way), said after the cause. */
  readonly progress?: string;
}

const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
// Checked before the timeout names: the SDK names a dropped connection (ECONNRESET) TimeoutError too.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * An AWS error as a CliError: what failed (the table, the application, the region, the endpoint),
 * why, and what to check. The SDK has retried already (throttling, 5xx, timeouts) when this is called.
 */
export async function awsFailure(error: unknown, context: AwsCallContext): Promise<CliError> {
  const { region, endpoint } = await context.dynamodb.target();
  const where = `table ${context.tableName} (application ${context.appName}), region ${region ?? '(none)'}, endpoint ${endpoint}`;
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
  const code = (error as { code?: string }).code ?? '';
  const name = (error as { name?: string }).name ?? '';
  let lines: string[];
  if (isRegionMissing(error)) {
    lines = ['no AWS region is set.', 'Check: pass --region, or set AWS_REGION (or a region in the --profile / AWS_PROFILE profile).'];
  } else if (isCredentialsError(error)) {
    lines = [
      `no AWS credentials were found (${describeError(error)}).`,
      'Check: --profile / AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the role of this machine.',
    ];
  } else if (isResourceNotFound(error)) {
    lines = [
      `lease table ${context.tableName} of application ${context.appName} was not found in region ${region ?? '(none)'} at ${endpoint}.`,
      'Check: the application name (the table is named after it; pass --table when the application sets tableName), ' +
        'the region (--region / AWS_REGION / the profile) and the endpoint (--dynamodb-endpoint / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL). ' +
        'A worker creates the table when it first starts.',
    ];
  } else if (isAccessDenied(error)) {
    lines = [
      `${context.action} was denied on ${where}: ${describeError(error)}`,
      `Check: the IAM policy of these credentials must allow ${context.action} on the lease table (leases needs dynamodb:Scan; reset needs dynamodb:Scan and dynamodb:UpdateItem).`,
    ];
  } else if (isRejectedCredentials(error)) {
    lines = [
      `AWS did not accept the credentials for ${where}: ${describeError(error)}`,
      'Check: the access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), the profile (--profile / AWS_PROFILE), an expired session token.',
    ];
  } else if (isThrottling(error)) {
    lines = [
      `DynamoDB throttled ${context.action}${tries} on ${where}: ${describeError(error)}`,
      'Check: the table is short of read/write capacity (the workers use it too). Try again in a moment, or raise the capacity; AWS_MAX_ATTEMPTS allows more attempts.',
    ];
  } else if (UNREACHABLE_CODES.has(code) || [...UNREACHABLE_CODES].some((c) => String((error as Error).message).includes(c))) {
    lines = [
      `the connection to DynamoDB failed (${code || describeError(error)})${tries} for ${context.action} on ${where}.`,
      'Check: the endpoint (--dynamodb-endpoint / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), that it is up, and the network path to it.',
    ];
  } else if (TIMEOUT_NAMES.has(name) || code === 'ETIMEDOUT' || /timed? ?out/i.test(String((error as Error).message))) {
    lines = [
      `no answer from DynamoDB within ${context.dynamodb.requestTimeoutS} s${tries} (${context.action}) on ${where}.`,
      'Check: the endpoint and the network path to it (proxy, VPC endpoint, firewall); --request-timeout SECONDS waits longer.',
    ];
  } else if (isTransientAwsError(error)) {
    lines = [
      `DynamoDB failed ${context.action}${tries} on ${where}: ${describeError(error)}`,
      'Check: this is a service-side failure; try again in a moment.',
    ];
  } else {
    lines = [`${context.action} failed on ${where}: ${describeError(error)}`];
  }
  if (context.progress) lines.splice(1, 0, context.progress);
  return new CliError(lines.join('\n'));
}
