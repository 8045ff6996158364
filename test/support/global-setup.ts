import { startLocalEmulators } from '../../lib/testing';

/** One pair of emulators for the whole run; every suite uses its own stream and application names. */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const emulators = await startLocalEmulators();
  (globalThis as { __emulators?: unknown }).__emulators = emulators;
  process.env.TEST_KINESIS_ENDPOINT = emulators.kinesis.endpoint;
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamodb.endpoint;
  process.env.TEST_KINESIS_TLS_PORT = String(emulators.kinesis.tlsPort);
  // What a user's environment would provide: the SDK's default credential chain reads these.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_REGION = emulators.region;
}
