import { randomBytes, randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { Decoder, Encoder } from 'cbor-x';

// A loopback HTTP/1.1 proxy that injects AWS faults between an SDK client and an emulator. Neither
// kinesis-local nor dynalite ever throttles or fails, so retry, backoff and timeout paths are only
// reachable through a proxy like this one, without touching the code under test: point the client's
// `endpoint` at `proxy.url`. This file imports node built-ins (and cbor-x) only, so it does not depend
// on the layout of the rest of the library.
//
// A request in CBOR (`application/x-amz-cbor-1.1`, what the Java SDKs send and the native engine with
// retrieval.wireFormat 'cbor') is read as CBOR, and answered in CBOR as real Kinesis does: the errors
// the proxy makes up, and the bodies a transform rewrites.

/** One request, as rules, responders and transforms see it. */
export interface ProxiedRequest {
  /** The X-Amz-Target prefix, e.g. `Kinesis_20131202`, `DynamoDB_20120810`; '' without that header. */
  readonly service: string;
  /** The X-Amz-Target operation, e.g. `GetRecords`, `UpdateItem`; '' without that header. */
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The body (awsJson 1.0 / 1.1, or CBOR), parsed on first read; undefined when empty or not an object. */
  readonly body: Readonly<Record<string, unknown>> | undefined;
}

/** A response the proxy writes itself. */
export interface ProxyResponse {
  readonly status: number;
  /** An object is sent as JSON (as CBOR to a CBOR request); a string or Buffer as it is. */
  readonly body?: unknown;
  /** Added to (and overriding) the defaults: Content-Type for the service, x-amzn-RequestId, x-amz-crc32 for DynamoDB. */
  readonly headers?: Readonly<OutgoingHttpHeaders>;
}

/** Returns a response, or undefined to forward the request to the target. */
export type Responder = (request: ProxiedRequest) => ProxyResponse | undefined | Promise<ProxyResponse | undefined>;
/** Returns the new body of a JSON (or CBOR) response from the target, or undefined to keep it. */
export type ResponseTransform = (body: unknown, request: ProxiedRequest, status: number) => unknown;

/** What the proxy does with one request. */
export type FaultAction =
  | { readonly do: 'forward'; readonly delayMs?: number; readonly transform?: ResponseTransform }
  | { readonly do: 'respond'; readonly response: ProxyResponse }
  | { readonly do: 'blackhole' }
  | { readonly do: 'reset' };

/** A fault decides, per request, what the proxy does. `faults` builds the usual ones; a custom one is just this interface. */
export interface Fault {
  /** Shown in the request log. */
  readonly name: string;
  decide(request: ProxiedRequest): FaultAction | Promise<FaultAction>;
}

/** Shorthands for the faults that take no argument. */
export type FaultName = 'pass' | 'blackhole' | 'reset' | 'http500' | 'http503' | 'throttle' | 'expiredIterator';

/** `'*'` (every request), an operation name, several, or a predicate. */
export type RequestMatcher = string | readonly string[] | ((request: ProxiedRequest) => boolean);

export interface RuleOptions {
  /** Apply to at most this many requests, then remove the rule. */
  readonly times?: number;
  /** Apply to a matching request with this chance (0..1), drawn from the proxy's seeded generator; otherwise older rules decide. */
  readonly probability?: number;
  /** Remove the rule this long after it was set. */
  readonly forMs?: number;
}

export interface RuleHandle {
  /** How many requests the rule has answered. */
  readonly applied: number;
  /** False once removed, used up or expired. */
  readonly active: boolean;
  remove(): void;
}

export interface RequestRecord {
  /** `performance.now()` when the request arrived. */
  readonly at: number;
  readonly service: string;
  readonly operation: string;
  /** The name of the fault that answered: 'pass' when no rule matched. */
  readonly fault: string;
  /** The status the client received; undefined while pending, and for blackholed, reset or failed requests. */
  readonly status: number | undefined;
}

export interface FaultProxyOptions {
  /** The emulator's origin, e.g. `http://127.0.0.1:4567`. Plain HTTP only. */
  readonly target: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: '127.0.0.1';
  /** Seed of the generator behind `probability`, so a failing run can be replayed. */
  readonly seed?: number;
  /** The request log keeps this many most recent records (default 10,000); counts are never truncated. */
  readonly maxRecords?: number;
}

export interface FaultProxy {
  /** The endpoint to give the client, e.g. `http://127.0.0.1:51234`. */
  readonly url: string;
  readonly port: number;
  readonly target: string;
  /** Adds a rule. Rules added later take precedence; a request no active rule matches passes through. */
  set(match: RequestMatcher, fault: Fault | FaultName, options?: RuleOptions): RuleHandle;
  /** Removes every rule. Requests already blackholed stay so. */
  clear(): void;
  /** The most recent requests, oldest first. */
  readonly requests: readonly RequestRecord[];
  /** Requests seen for an operation (every request for '*' or no argument), since start or `resetStats()`. */
  count(operation?: string): number;
  /** IAM action names seen, e.g. `kinesis:GetRecords`, `dynamodb:UpdateItem`: what a least-privilege policy must allow. */
  operations(): Set<string>;
  resetStats(): void;
  /** Stops listening and destroys every socket, blackholed ones included. Idempotent. */
  close(): Promise<void>;
}

const DYNAMODB_NAMESPACE = 'com.amazonaws.dynamodb.v20120810';
/** Kinesis data-plane operations throttle per shard; the control plane answers LimitExceededException. */
const KINESIS_SHARD_THROTTLED = new Set(['GetRecords', 'GetShardIterator', 'PutRecord', 'PutRecords']);
const IAM_PREFIX: Readonly<Record<string, string>> = {
  Kinesis_20131202: 'kinesis',
  DynamoDB_20120810: 'dynamodb',
  DynamoDBStreams_20120810: 'dynamodb',
  GraniteServiceVersion20100801: 'cloudwatch',
};
/** Connection-level headers: they describe one hop, not the message. `expect` too: the proxy has read the body already. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

const FORWARD: FaultAction = { do: 'forward' };
const fault = (name: string, decide: Fault['decide']): Fault => ({ name, decide });
const respondWith = (response: ProxyResponse): FaultAction => ({ do: 'respond', response });

/** The faults, each answering the way the real service would, so the SDK raises the same errors as in production. */
export const faults = {
  pass: () => fault('pass', () => FORWARD),
  /** Reads the request and never answers; the socket stays open until the client gives up or the proxy closes. */
  blackhole: () => fault('blackhole', () => ({ do: 'blackhole' })),
  /** Sends a TCP RST: the client sees ECONNRESET. */
  reset: () => fault('reset', () => ({ do: 'reset' })),
  /** HTTP 500: InternalFailure for Kinesis, InternalServerError for DynamoDB. */
  http500: (message = 'We encountered an internal error. Please try again.') =>
    fault('http500', (request) =>
      respondWith(awsError(request, 500, isDynamoDb(request) ? 'InternalServerError' : 'InternalFailure', message)),
    ),
  /** HTTP 503 ServiceUnavailable. */
  http503: (message = 'The service is currently unavailable or busy.') =>
    fault('http503', (request) => respondWith(awsError(request, 503, 'ServiceUnavailable', message))),
  /**
   * HTTP 400 with the service's throttling error. Kinesis: ProvisionedThroughputExceededException for
   * GetRecords, GetShardIterator and puts, LimitExceededException for the control plane; DynamoDB:
   * ThrottlingException. `type` picks another, e.g. DynamoDB's ProvisionedThroughputExceededException.
   */
  throttle: (type?: string) => fault('throttle', (request) => respondWith(throttleError(request, type))),
  /** HTTP 400 ExpiredIteratorException, as Kinesis answers an iterator older than five minutes. */
  expiredIterator: () =>
    fault('expiredIterator', (request) => respondWith(awsError(request, 400, 'ExpiredIteratorException', expiredIteratorMessage()))),
  /** Any AWS JSON error, e.g. `error(400, 'AccessDeniedException', '...')`. For DynamoDB a bare type gets the service namespace. */
  error: (status: number, type: string, message: string) =>
    fault('error', (request) => respondWith(awsError(request, status, type, message))),
  /** Waits, then forwards. */
  latency: (ms: number) => fault('latency', () => ({ do: 'forward', delayMs: ms })),
  /** Lets a function answer (for example a model of the service's limits), or forward when it returns undefined. */
  respond: (responder: Responder) =>
    fault('respond', async (request) => {
      const response = await responder(request);
      return response ? respondWith(response) : FORWARD;
    }),
  /** Forwards, then rewrites the target's JSON or CBOR response body. Other responses (event streams) pass untouched. */
  transform: (transform: ResponseTransform) => fault('transform', () => ({ do: 'forward', transform })),
} satisfies Record<FaultName | 'error' | 'latency' | 'respond' | 'transform', (...args: never[]) => Fault>;

/**
 * Starts a fault proxy in front of `target`.
 *
 * Request bodies are read whole before a rule decides (rules may look at them, and AWS JSON requests are
 * small and bounded); responses stream, so GetRecords pages and SubscribeToShard event streams pass as
 * they come. Both sides keep connections alive. The Host header is rewritten to the target's: the SDK
 * signed the proxy's host, but emulators do not verify SigV4 signatures, so this only works in front of
 * an emulator. HTTP/1.1 only: fine for the SDK v3 with NodeHttpHandler and for the Java KCL's DynamoDB
 * client, not for the Java KCL's Kinesis client, which insists on HTTP/2.
 *
 * When the target cannot be reached or fails mid-response, the proxy resets the client's connection
 * rather than answering 502: a dead endpoint looks like a connection error to the SDK, and that is what
 * the code under test must handle.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const proxy = new FaultProxyServer(options);
  await proxy.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return proxy;
}

class Rule implements RuleHandle {
  applied = 0;
  private removed = false;

  constructor(
    readonly matches: (request: ProxiedRequest) => boolean,
    readonly fault: Fault,
    readonly probability: number,
    private readonly times: number,
    private readonly expiresAt: number,
    private readonly rules: Rule[],
  ) {}

  get active(): boolean {
    return !this.removed && this.applied < this.times && performance.now() < this.expiresAt;
  }

  remove(): void {
    this.removed = true;
    const index = this.rules.indexOf(this);
    if (index >= 0) this.rules.splice(index, 1);
  }
}

class FaultProxyServer implements FaultProxy {
  readonly target: string;
  private readonly targetUrl: URL;
  // Idle connections stay open longer than clients keep them (Node's default of 5 s would not), so the
  // proxy never closes one a client is about to reuse: that would be a fault of its own making.
  private readonly server = createServer({ keepAliveTimeout: 60_000 });
  private readonly agent = new Agent({ keepAlive: true });
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly rules: Rule[] = [];
  private readonly random: () => number;
  private readonly maxRecords: number;
  private log: RequestRecord[] = [];
  private logStart = 0;
  private counts = new Map<string, number>();
  private total = 0;
  private actions = new Set<string>();
  private closing?: Promise<void>;
  private address?: AddressInfo;

  constructor(options: FaultProxyOptions) {
    this.targetUrl = new URL(options.target);
    if (this.targetUrl.protocol !== 'http:') throw new Error(`The fault proxy forwards plain HTTP only, not ${options.target}.`);
    this.target = this.targetUrl.origin;
    this.random = mulberry32(options.seed ?? 0x5eed);
    this.maxRecords = options.maxRecords ?? 10_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_error, socket) => socket.destroy());
    this.server.on('request', (req, res) => {
      this.handle(req, res).catch(() => req.socket.destroy());
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.address = this.server.address() as AddressInfo;
        resolve();
      });
    });
  }

  get port(): number {
    return this.address!.port;
  }

  get url(): string {
    return `http://${this.address!.address}:${this.port}`;
  }

  set(match: RequestMatcher, fault: Fault | FaultName, options: RuleOptions = {}): RuleHandle {
    const rule = new Rule(
      matcher(match),
      typeof fault === 'string' ? faults[fault]() : fault,
      options.probability ?? 1,
      options.times ?? Infinity,
      options.forMs === undefined ? Infinity : performance.now() + options.forMs,
      this.rules,
    );
    this.rules.push(rule);
    return rule;
  }

  clear(): void {
    for (const rule of [...this.rules]) rule.remove();
  }

  get requests(): readonly RequestRecord[] {
    return [...this.log.slice(this.logStart), ...this.log.slice(0, this.logStart)];
  }

  count(operation = '*'): number {
    return operation === '*' ? this.total : (this.counts.get(operation) ?? 0);
  }

  operations(): Set<string> {
    return new Set(this.actions);
  }

  resetStats(): void {
    this.log = [];
    this.logStart = 0;
    this.counts = new Map();
    this.total = 0;
    this.actions = new Set();
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      for (const timer of this.timers) clearTimeout(timer);
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.agent.destroy();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    // A client that goes away mid-request is an ordinary event here, not an error worth a crash.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const request = proxiedRequest(req, await readBody(req));
    const record = { at, service: request.service, operation: request.operation, fault: 'pass', status: undefined as number | undefined };
    this.record(record);
    const fault = this.pick(request);
    record.fault = fault.name;
    let action: FaultAction;
    try {
      action = await fault.decide(request);
    } catch (error) {
      action = respondWith(awsError(request, 500, 'InternalFailure', `The fault proxy's ${fault.name} rule threw: ${String(error)}`));
    }
    switch (action.do) {
      case 'blackhole':
        return;
      case 'reset':
        resetSocket(req.socket);
        return;
      case 'respond':
        record.status = action.response.status;
        return send(res, request, action.response);
      case 'forward':
        if (action.delayMs) await this.delay(action.delayMs);
        if (req.socket.destroyed) return;
        return this.forward(req, res, request, record, action.transform);
    }
  }

  /** The newest active rule that matches (and, if probabilistic, fires) decides. */
  private pick(request: ProxiedRequest): Fault {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const rule = this.rules[i];
      if (!rule.active) {
        rule.remove();
        continue;
      }
      if (!rule.matches(request) || (rule.probability < 1 && this.random() >= rule.probability)) continue;
      rule.applied++;
      if (!rule.active) rule.remove();
      return rule.fault;
    }
    return PASS;
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    request: ProxiedRequest,
    record: { status: number | undefined },
    transform?: ResponseTransform,
    retried = false,
  ): void {
    const headers: OutgoingHttpHeaders = {
      ...withoutHopByHop(request.headers),
      host: this.targetUrl.host,
      'content-length': request.rawBody.length,
    };
    const upstream = httpRequest({
      host: this.targetUrl.hostname,
      port: this.targetUrl.port,
      method: request.method,
      path: request.path,
      headers,
      agent: this.agent,
    });
    // The client went away before the whole answer reached it: stop the upstream exchange too.
    const abandon = () => {
      if (!res.writableFinished) upstream.destroy();
    };
    res.once('close', abandon);
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      res.off('close', abandon);
      // Most likely the target closed an idle kept-alive connection just as the proxy reused it. Not a
      // fault anyone asked for: try once more on a fresh connection, as Node documents for `reusedSocket`.
      if (upstream.reusedSocket && error.code === 'ECONNRESET' && !retried && !res.headersSent) {
        return this.forward(req, res, request, record, transform, true);
      }
      resetSocket(req.socket);
    });
    upstream.on('response', (answer) => {
      answer.on('error', () => resetSocket(req.socket));
      const status = answer.statusCode ?? 502;
      const answerType = answer.headers['content-type'] ?? '';
      if (transform && (/json/.test(answerType) || isCborType(answerType))) {
        readBody(answer).then(
          (raw) => {
            const cbor = isCborType(answerType);
            const body = cbor ? parseCbor(raw) : parseJson(raw);
            const changed = transform(body, request, status);
            const out = changed === undefined ? raw : cbor ? cborEncoder.encode(changed) : Buffer.from(JSON.stringify(changed));
            record.status = status;
            send(res, request, { status, body: out, headers: withoutHopByHop(answer.headers, ['content-length', 'x-amz-crc32']) });
          },
          () => resetSocket(req.socket),
        );
        return;
      }
      record.status = status;
      res.writeHead(status, withoutHopByHop(answer.headers));
      answer.pipe(res);
    });
    upstream.end(request.rawBody);
  }

  private record(record: RequestRecord): void {
    this.total++;
    this.counts.set(record.operation, (this.counts.get(record.operation) ?? 0) + 1);
    if (record.operation)
      this.actions.add(`${IAM_PREFIX[record.service] ?? record.service.split('_')[0].toLowerCase()}:${record.operation}`);
    if (this.log.length < this.maxRecords) {
      this.log.push(record);
    } else if (this.maxRecords > 0) {
      this.log[this.logStart] = record;
      this.logStart = (this.logStart + 1) % this.maxRecords;
    }
  }

  /** A delay that close() cancels, so a pending latency rule does not keep the process alive. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

const PASS = faults.pass();

function matcher(match: RequestMatcher): (request: ProxiedRequest) => boolean {
  if (typeof match === 'function') return match;
  const operations = new Set(typeof match === 'string' ? [match] : match);
  return operations.has('*') ? () => true : (request) => operations.has(request.operation);
}

function proxiedRequest(req: IncomingMessage, rawBody: Buffer): ProxiedRequest {
  const target = String(req.headers['x-amz-target'] ?? '');
  const dot = target.lastIndexOf('.');
  let body: ProxiedRequest['body'] | null = null;
  return {
    service: dot < 0 ? '' : target.slice(0, dot),
    operation: dot < 0 ? '' : target.slice(dot + 1),
    method: req.method ?? 'POST',
    path: req.url ?? '/',
    headers: req.headers,
    rawBody,
    get body() {
      if (body === null) {
        const parsed = isCborType(req.headers['content-type']) ? parseCbor(rawBody) : parseJson(rawBody);
        body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
      }
      return body;
    },
  };
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('closed before the end of the body')));
  });
}

const CBOR_TYPE = 'application/x-amz-cbor-1.1';
const cborEncoder = new Encoder({ useRecords: false });
// int64AsNumber is in cbor-x's README, not in its typings: kinesis-local's 64-bit millisecond timestamps as numbers.
const CBOR_DECODER_OPTIONS = { useRecords: false, mapsAsObjects: true, int64AsNumber: true };
const cborDecoder = new Decoder(CBOR_DECODER_OPTIONS);

function isCborType(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith(CBOR_TYPE);
}

function parseCbor(raw: Buffer): unknown {
  try {
    return raw.length ? cborDecoder.decode(raw) : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

function withoutHopByHop(headers: IncomingHttpHeaders, alsoDrop: readonly string[] = []): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !alsoDrop.includes(name)) kept[name] = value;
  }
  return kept;
}

function resetSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

function isDynamoDb(request: ProxiedRequest): boolean {
  return request.service.startsWith('DynamoDB');
}

function send(res: ServerResponse, request: ProxiedRequest, response: ProxyResponse): void {
  if (res.headersSent || res.destroyed) return;
  const { body } = response;
  // A CBOR request gets a CBOR answer, as from real Kinesis.
  const cbor = isCborType(request.headers['content-type']);
  const raw = Buffer.isBuffer(body)
    ? body
    : typeof body === 'string'
      ? Buffer.from(body)
      : body === undefined
        ? Buffer.alloc(0)
        : cbor
          ? cborEncoder.encode(body)
          : Buffer.from(JSON.stringify(body));
  const headers: OutgoingHttpHeaders = {
    'content-type': cbor ? CBOR_TYPE : isDynamoDb(request) ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
    // DynamoDB checksums every response body; the Java SDK verifies it when present.
    ...(isDynamoDb(request) ? { 'x-amz-crc32': String(crc32(raw)) } : { 'x-amz-id-2': randomBytes(48).toString('base64') }),
  };
  for (const [name, value] of Object.entries(response.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  headers['content-length'] = raw.length;
  res.writeHead(response.status, headers).end(raw);
}

/** An AWS JSON-protocol error: `__type` in the body (namespaced for DynamoDB) and x-amzn-ErrorType. */
function awsError(request: ProxiedRequest, status: number, type: string, message: string): ProxyResponse {
  const shortType = type.slice(type.lastIndexOf('#') + 1);
  const qualified = isDynamoDb(request) && !type.includes('#') ? `${DYNAMODB_NAMESPACE}#${type}` : type;
  return { status, body: { __type: qualified, message }, headers: { 'x-amzn-errortype': shortType } };
}

function throttleError(request: ProxiedRequest, type?: string): ProxyResponse {
  if (isDynamoDb(request)) {
    const chosen = type ?? 'ThrottlingException';
    const message =
      chosen === 'ProvisionedThroughputExceededException'
        ? 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.'
        : 'Rate of requests exceeds the allowed throughput.';
    return awsError(request, 400, chosen, message);
  }
  const chosen =
    type ?? (KINESIS_SHARD_THROTTLED.has(request.operation) ? 'ProvisionedThroughputExceededException' : 'LimitExceededException');
  const body = request.body ?? {};
  const arn = typeof body.StreamARN === 'string' ? body.StreamARN : '';
  const stream = typeof body.StreamName === 'string' ? body.StreamName : (arn.split('/')[1] ?? 'unknown');
  const account = arn.split(':')[4] || '000000000000';
  const shard = typeof body.ShardId === 'string' ? body.ShardId : 'shardId-000000000000';
  const message =
    chosen === 'ProvisionedThroughputExceededException'
      ? `Rate exceeded for shard ${shard} in stream ${stream} under account ${account}.`
      : `Rate exceeded for stream ${stream} under account ${account}.`;
  return awsError(request, 400, chosen, message);
}

function expiredIteratorMessage(): string {
  const now = Date.now();
  return `Iterator expired. The iterator was created at time ${new Date(now - 300_001).toUTCString()} while right now it is ${new Date(now).toUTCString()} which is further in the future than the tolerated delay of 300000 milliseconds.`;
}

/** mulberry32: small, fast and seedable, so a probabilistic schedule can be replayed. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
