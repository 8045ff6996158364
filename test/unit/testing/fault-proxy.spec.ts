import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { faults, startFaultProxy, type FaultProxy } from '../../../lib/testing/fault-proxy';

// A tiny target that echoes what reached it, so pass-through can be checked byte for byte.
let target: Server;
let targetUrl: string;
let targetConnections = 0;
let targetRequests = 0;
let answer: ((req: IncomingMessage, res: ServerResponse, body: Buffer) => void) | undefined;

function echo(req: IncomingMessage, res: ServerResponse, body: Buffer) {
  const json = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('base64') });
  res
    .writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-target-header': 'kept', 'x-amzn-requestid': 'from-target' })
    .end(json);
}

beforeAll(async () => {
  target = createServer((req, res) => {
    targetRequests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (answer ?? echo)(req, res, Buffer.concat(chunks)));
  });
  target.on('connection', () => targetConnections++);
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

let proxy: FaultProxy;
let agent: Agent;
beforeEach(async () => {
  answer = undefined;
  targetRequests = 0;
  agent = new Agent({ keepAlive: true });
  proxy = await startFaultProxy({ target: targetUrl, seed: 42 });
});
afterEach(async () => {
  agent.destroy();
  await proxy.close();
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  json: Record<string, unknown>;
  reusedSocket: boolean;
}
interface CallOptions {
  service?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  url?: string;
}

/** One AWS JSON-protocol call through the proxy, as the SDK makes it. */
function call(operation: string, body: unknown = {}, options: CallOptions = {}): Promise<Reply> {
  const service = options.service ?? 'Kinesis_20131202';
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const url = new URL(options.url ?? proxy.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        agent,
        timeout: options.timeoutMs,
        headers: {
          'content-type': service.startsWith('DynamoDB') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
          'x-amz-target': `${service}.${operation}`,
          'content-length': payload.length,
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(raw.toString());
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode!, headers: res.headers, raw, json, reusedSocket: req.reusedSocket });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const echoed = (reply: Reply) => reply.json as { method: string; url: string; headers: IncomingHttpHeaders; body: string };

describe('fault proxy: pass-through', () => {
  it('forwards body, headers and status both ways, rewriting only Host', async () => {
    const big = Buffer.from(JSON.stringify({ StreamName: 's', Data: 'x'.repeat(1_000_000) }));
    const reply = await call('PutRecord', big, { headers: { authorization: 'AWS4-HMAC-SHA256 signed', 'x-custom': 'v' } });
    expect(reply.status).toBe(200);
    const seen = echoed(reply);
    expect(Buffer.from(seen.body, 'base64').equals(big)).toBe(true);
    expect(seen.headers).toMatchObject({
      host: new URL(targetUrl).host,
      authorization: 'AWS4-HMAC-SHA256 signed',
      'x-custom': 'v',
      'x-amz-target': 'Kinesis_20131202.PutRecord',
      'content-length': String(big.length),
    });
    expect(reply.headers).toMatchObject({
      'x-target-header': 'kept',
      'x-amzn-requestid': 'from-target',
      'content-type': 'application/x-amz-json-1.1',
    });
  });

  it('keeps connections alive on both sides', async () => {
    const before = targetConnections;
    const first = await call('ListShards');
    const second = await call('ListShards');
    const third = await call('ListShards');
    expect([first.reusedSocket, second.reusedSocket, third.reusedSocket]).toEqual([false, true, true]);
    expect(targetConnections - before).toBe(1);
  });

  it('streams a response as the target writes it', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      res.write('first;');
      setTimeout(() => res.end('second'), 100);
    };
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: proxy.port,
          method: 'POST',
          path: '/',
          agent,
          headers: { 'x-amz-target': 'Kinesis_20131202.SubscribeToShard' },
        },
        (res) => {
          res.on('data', (c: Buffer) => chunks.push(c.toString()));
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(chunks).toEqual(['first;', 'second']);
  });

  it('resets the client connection when the target is down', async () => {
    const dead = await startFaultProxy({ target: 'http://127.0.0.1:1' });
    try {
      await expect(call('GetRecords', {}, { url: dead.url })).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(dead.requests).toEqual([expect.objectContaining({ operation: 'GetRecords', fault: 'pass', status: undefined })]);
    } finally {
      await dead.close();
    }
  });

  it('retries once on a new connection when the target drops a reused kept-alive one without answering', async () => {
    await call('ListShards');
    answer = (req) => {
      answer = undefined;
      req.socket.destroy();
    };
    const reply = await call('ListShards');
    expect(reply.status).toBe(200);
    expect(targetRequests).toBe(3);
  });

  it('rejects a target it cannot forward to', async () => {
    await expect(startFaultProxy({ target: 'https://kinesis.us-east-1.amazonaws.com' })).rejects.toThrow(/plain HTTP/);
  });
});

describe('fault proxy: faults', () => {
  it('blackhole: reads the request, never answers, keeps the socket open', async () => {
    proxy.set('GetRecords', 'blackhole');
    // The client's own timeout is what ends the call: the proxy never answered.
    await expect(call('GetRecords', {}, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' });
    expect(targetRequests).toBe(0);
    expect(proxy.requests).toEqual([expect.objectContaining({ operation: 'GetRecords', fault: 'blackhole', status: undefined })]);
    expect((await call('ListShards')).status).toBe(200);
  });

  it('reset: the client sees ECONNRESET', async () => {
    proxy.set('GetRecords', 'reset');
    await expect(call('GetRecords')).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(targetRequests).toBe(0);
    expect((await call('ListShards')).status).toBe(200);
  });

  it('http500 and http503: AWS JSON errors with the service content type and request id', async () => {
    proxy.set('GetRecords', 'http500');
    proxy.set('ListShards', 'http503');
    const failure = await call('GetRecords');
    expect(failure.status).toBe(500);
    expect(failure.json).toEqual({ __type: 'InternalFailure', message: expect.any(String) });
    expect(failure.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-errortype': 'InternalFailure',
      'x-amzn-requestid': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'content-length': String(failure.raw.length),
    });
    const unavailable = await call('ListShards');
    expect(unavailable.status).toBe(503);
    expect(unavailable.json.__type).toBe('ServiceUnavailable');
  });

  it('http500 for DynamoDB: namespaced InternalServerError, JSON 1.0, a correct x-amz-crc32', async () => {
    proxy.set('*', 'http500');
    const reply = await call('UpdateItem', { TableName: 't' }, { service: 'DynamoDB_20120810' });
    expect(reply.status).toBe(500);
    expect(reply.json.__type).toBe('com.amazonaws.dynamodb.v20120810#InternalServerError');
    expect(reply.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(reply.headers['x-amz-crc32']).toBe(String(crc32(reply.raw)));
  });

  it('throttle: Kinesis data plane answers ProvisionedThroughputExceededException naming the shard and stream', async () => {
    proxy.set('*', 'throttle');
    const reply = await call('GetShardIterator', { StreamName: 'orders', ShardId: 'shardId-000000000003', ShardIteratorType: 'LATEST' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      __type: 'ProvisionedThroughputExceededException',
      message: 'Rate exceeded for shard shardId-000000000003 in stream orders under account 000000000000.',
    });
    expect(reply.headers['x-amzn-errortype']).toBe('ProvisionedThroughputExceededException');
    const byArn = await call('GetRecords', { StreamARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/payments', ShardIterator: 'x' });
    expect(byArn.json.message).toBe('Rate exceeded for shard shardId-000000000000 in stream payments under account 123456789012.');
  });

  it('throttle: Kinesis control plane answers LimitExceededException', async () => {
    proxy.set(['ListShards', 'DescribeStreamSummary'], 'throttle');
    const reply = await call('ListShards', { StreamName: 'orders' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      __type: 'LimitExceededException',
      message: 'Rate exceeded for stream orders under account 000000000000.',
    });
  });

  it('throttle: DynamoDB answers ThrottlingException, or the ProvisionedThroughputExceededException variant', async () => {
    proxy.set('UpdateItem', 'throttle');
    proxy.set('PutItem', faults.throttle('ProvisionedThroughputExceededException'));
    const throttled = await call('UpdateItem', { TableName: 't' }, { service: 'DynamoDB_20120810' });
    expect(throttled.status).toBe(400);
    expect(throttled.json).toEqual({
      __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
      message: 'Rate of requests exceeds the allowed throughput.',
    });
    expect(throttled.headers).toMatchObject({ 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException' });
    const exceeded = await call('PutItem', { TableName: 't' }, { service: 'DynamoDB_20120810' });
    expect(exceeded.json.__type).toBe('com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException');
  });

  it('expiredIterator and error(status, type, message)', async () => {
    proxy.set('GetRecords', 'expiredIterator');
    proxy.set('ListShards', faults.error(400, 'AccessDeniedException', 'User is not authorized to perform: kinesis:ListShards'));
    proxy.set('Scan', faults.error(400, 'ResourceNotFoundException', 'Requested resource not found'));
    const expired = await call('GetRecords');
    expect(expired.status).toBe(400);
    expect(expired.json).toEqual({ __type: 'ExpiredIteratorException', message: expect.stringMatching(/^Iterator expired\./) });
    const denied = await call('ListShards');
    expect(denied.status).toBe(400);
    expect(denied.json).toEqual({ __type: 'AccessDeniedException', message: 'User is not authorized to perform: kinesis:ListShards' });
    const missing = await call('Scan', {}, { service: 'DynamoDB_20120810' });
    expect(missing.json.__type).toBe('com.amazonaws.dynamodb.v20120810#ResourceNotFoundException');
  });

  it('latency: waits, then forwards', async () => {
    proxy.set('GetRecords', faults.latency(150));
    const started = Date.now();
    const reply = await call('GetRecords', { ShardIterator: 'it' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(reply.status).toBe(200);
    expect(echoed(reply).body).toBe(Buffer.from('{"ShardIterator":"it"}').toString('base64'));
    expect(proxy.requests[0]).toMatchObject({ fault: 'latency', status: 200 });
  });

  it('respond: answers from a function that sees the parsed request, or forwards on undefined', async () => {
    const seen: string[] = [];
    proxy.set(
      '*',
      // eslint-disable-next-line @typescript-eslint/require-await -- an async responder on purpose: respond() must await it
      faults.respond(async (req) => {
        seen.push(`${req.service}.${req.operation}:${String(req.body?.StreamName)}`);
        return req.body?.StreamName === 'mine' ? { status: 200, body: { Shards: [] }, headers: { 'X-Extra': '1' } } : undefined;
      }),
    );
    const mine = await call('ListShards', { StreamName: 'mine' });
    expect(mine.status).toBe(200);
    expect(mine.json).toEqual({ Shards: [] });
    expect(mine.headers).toMatchObject({ 'x-extra': '1', 'content-type': 'application/x-amz-json-1.1' });
    const other = await call('ListShards', { StreamName: 'other' });
    expect(echoed(other).method).toBe('POST');
    expect(seen).toEqual(['Kinesis_20131202.ListShards:mine', 'Kinesis_20131202.ListShards:other']);
  });

  it('respond: a body that is not JSON reaches the function as rawBody, body undefined', async () => {
    let parsed: unknown = 'unset';
    proxy.set(
      '*',
      faults.respond((req) => ((parsed = req.body), { status: 204 })),
    );
    const reply = await call('PutRecord', Buffer.from([0xbf, 0x01, 0xff]));
    expect(reply.status).toBe(204);
    expect(parsed).toBeUndefined();
  });

  it('respond: a function that throws answers HTTP 500 instead of crashing the proxy', async () => {
    proxy.set(
      '*',
      faults.respond(() => {
        throw new Error('bug in the model');
      }),
    );
    const reply = await call('GetRecords');
    expect(reply.status).toBe(500);
    expect(String(reply.json.message)).toContain('bug in the model');
  });

  it('transform: rewrites the target JSON body and fixes Content-Length', async () => {
    answer = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{"Records":[],"MillisBehindLatest":0}');
    proxy.set(
      'GetRecords',
      faults.transform((body, req, status) => ({ ...(body as object), MillisBehindLatest: 90_000, op: req.operation, status })),
    );
    const reply = await call('GetRecords');
    expect(reply.json).toEqual({ Records: [], MillisBehindLatest: 90_000, op: 'GetRecords', status: 200 });
    expect(reply.headers['content-length']).toBe(String(reply.raw.length));
  });
});

describe('fault proxy: CBOR (application/x-amz-cbor-1.1, as the Java SDKs and retrieval.wireFormat cbor send)', () => {
  const CBOR = 'application/x-amz-cbor-1.1';
  const encoder = new Encoder({ useRecords: false });
  const decoderOptions = { useRecords: false, mapsAsObjects: true, int64AsNumber: true };
  const decode = (raw: Buffer) => new Decoder(decoderOptions).decode(raw) as Record<string, unknown>;
  const cborCall = (operation: string, body: unknown) =>
    call(operation, Buffer.from(encoder.encode(body)), { headers: { 'content-type': CBOR, accept: CBOR } });

  it('reads the CBOR request body, and answers its errors in CBOR with the same type and message', async () => {
    const seen: unknown[] = [];
    proxy.set(
      'GetShardIterator',
      faults.respond((req) => void seen.push(req.body)),
    );
    proxy.set('GetRecords', 'throttle', { times: 1 });
    proxy.set('GetRecords', 'expiredIterator', { times: 1 });
    const expired = await cborCall('GetRecords', { StreamName: 'orders', ShardId: 'shardId-000000000003', ShardIterator: 'x' });
    const throttled = await cborCall('GetRecords', { StreamName: 'orders', ShardId: 'shardId-000000000003', ShardIterator: 'x' });
    await cborCall('GetShardIterator', { StreamName: 'orders', ShardId: 'shardId-000000000001', ShardIteratorType: 'LATEST' });
    expect(seen).toEqual([{ StreamName: 'orders', ShardId: 'shardId-000000000001', ShardIteratorType: 'LATEST' }]);
    for (const reply of [expired, throttled]) {
      expect(reply.status).toBe(400);
      expect(reply.headers['content-type']).toBe(CBOR);
      expect(reply.headers['content-length']).toBe(String(reply.raw.length));
    }
    expect(decode(expired.raw)).toMatchObject({ __type: 'ExpiredIteratorException' });
    expect(decode(throttled.raw)).toEqual({
      __type: 'ProvisionedThroughputExceededException',
      message: 'Rate exceeded for shard shardId-000000000003 in stream orders under account 000000000000.',
    });
    expect(throttled.headers['x-amzn-errortype']).toBe('ProvisionedThroughputExceededException');
  });

  it('transform: a CBOR answer of the target is decoded for the function and encoded back in CBOR', async () => {
    answer = (_req, res) =>
      res
        .writeHead(200, { 'content-type': CBOR })
        .end(encoder.encode({ Records: [{ Data: 'aGk=', ApproximateArrivalTimestamp: 1764000000123n }], MillisBehindLatest: 0n }));
    const received: unknown[] = [];
    proxy.set(
      'GetRecords',
      faults.transform((body) => {
        received.push(body);
        const records = (body as { Records: Record<string, unknown>[] }).Records;
        return {
          Records: records.map((r) => ({
            Data: Buffer.from(r.Data as string, 'base64'),
            ApproximateArrivalTimestamp: new Tag(1764000000.123, 1),
          })),
        };
      }),
    );
    const reply = await cborCall('GetRecords', { ShardIterator: 'x' });
    expect(received).toEqual([{ Records: [{ Data: 'aGk=', ApproximateArrivalTimestamp: 1764000000123 }], MillisBehindLatest: 0 }]);
    expect(reply.headers['content-type']).toBe(CBOR);
    expect(reply.headers['content-length']).toBe(String(reply.raw.length));
    const out = decode(reply.raw) as { Records: { Data: Uint8Array; ApproximateArrivalTimestamp: Date }[] };
    expect(Buffer.from(out.Records[0].Data).toString()).toBe('hi');
    expect(out.Records[0].ApproximateArrivalTimestamp.getTime()).toBe(1764000000123);
  });
});

describe('fault proxy: rules', () => {
  it('times: applies to N requests, then the rule is gone', async () => {
    const rule = proxy.set('GetRecords', 'throttle', { times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('GetRecords')).status);
    expect(statuses).toEqual([400, 400, 200, 200]);
    expect(rule).toMatchObject({ applied: 2, active: false });
  });

  it('forMs: expires after the duration', async () => {
    const rule = proxy.set('*', 'http500', { forMs: 150 });
    expect((await call('GetRecords')).status).toBe(500);
    await sleep(200);
    expect(rule.active).toBe(false);
    expect((await call('GetRecords')).status).toBe(200);
  });

  it('probability: a seeded draw, the same for the same seed', async () => {
    const run = async (seed: number) => {
      const p = await startFaultProxy({ target: targetUrl, seed });
      p.set('*', 'http500', { probability: 0.3 });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await call('GetRecords', {}, { url: p.url })).status);
      await p.close();
      return statuses;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    const failures = first.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
    expect(await run(8)).not.toEqual(first);
  });

  it('a rule whose draw misses lets the older rules decide', async () => {
    proxy.set('*', 'http503');
    proxy.set('*', 'http500', { probability: 0 });
    expect((await call('GetRecords')).status).toBe(503);
  });

  it('later rules take precedence; remove() and clear() restore what was under them', async () => {
    proxy.set('*', 'http500');
    const throttle = proxy.set('GetRecords', 'throttle');
    const mine = proxy.set((req) => req.body?.StreamName === 'special', 'http503');
    expect((await call('GetRecords')).status).toBe(400);
    expect((await call('ListShards')).status).toBe(500);
    expect((await call('GetRecords', { StreamName: 'special' })).status).toBe(503);
    mine.remove();
    mine.remove();
    throttle.remove();
    expect((await call('GetRecords', { StreamName: 'special' })).status).toBe(500);
    proxy.clear();
    expect((await call('GetRecords')).status).toBe(200);
    expect(throttle.active).toBe(false);
  });
});

describe('fault proxy: request log', () => {
  it('records time, service, operation, fault and status; counts; IAM action names', async () => {
    proxy.set('GetRecords', 'throttle', { times: 1 });
    const before = performance.now();
    await call('GetRecords');
    await call('GetRecords');
    await call('UpdateItem', {}, { service: 'DynamoDB_20120810' });
    expect(proxy.requests).toEqual([
      { at: expect.any(Number), service: 'Kinesis_20131202', operation: 'GetRecords', fault: 'throttle', status: 400 },
      { at: expect.any(Number), service: 'Kinesis_20131202', operation: 'GetRecords', fault: 'pass', status: 200 },
      { at: expect.any(Number), service: 'DynamoDB_20120810', operation: 'UpdateItem', fault: 'pass', status: 200 },
    ]);
    const times = proxy.requests.map((r) => r.at);
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(proxy.count('GetRecords')).toBe(2);
    expect(proxy.count('UpdateItem')).toBe(1);
    expect(proxy.count('ListShards')).toBe(0);
    expect(proxy.count()).toBe(3);
    expect(proxy.operations()).toEqual(new Set(['kinesis:GetRecords', 'dynamodb:UpdateItem']));
    proxy.resetStats();
    expect(proxy.requests).toEqual([]);
    expect(proxy.count()).toBe(0);
    expect(proxy.operations().size).toBe(0);
  });

  it('keeps the most recent maxRecords, counting all', async () => {
    const small = await startFaultProxy({ target: targetUrl, maxRecords: 3 });
    try {
      for (const op of ['A', 'B', 'C', 'D', 'E']) await call(op, {}, { url: small.url });
      expect(small.requests.map((r) => r.operation)).toEqual(['C', 'D', 'E']);
      expect(small.count()).toBe(5);
    } finally {
      await small.close();
    }
  });
});

describe('fault proxy: robustness and close()', () => {
  it('survives clients that abort during latency, blackhole and a streaming response', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      res.write('partial');
    };
    proxy.set('GetRecords', faults.latency(300));
    proxy.set('PutRecord', 'blackhole');
    await Promise.all([
      expect(call('GetRecords', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' }),
      expect(call('PutRecord', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' }),
      expect(call('SubscribeToShard', {}, { timeoutMs: 100 })).rejects.toThrow(),
    ]);
    await sleep(350);
    answer = undefined;
    expect((await call('ListShards')).status).toBe(200);
  });

  it('close() destroys blackholed sockets, stops listening, and is idempotent', async () => {
    proxy.set('*', 'blackhole');
    const pending = [call('GetRecords'), call('GetRecords'), call('ListShards')];
    const settled = Promise.allSettled(pending);
    while (proxy.count() < 3) await sleep(10);
    await Promise.all([proxy.close(), proxy.close()]);
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // Ended by close() destroying the sockets, not by the clients' own timeouts running out.
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'fulfilled'));
    expect(codes.filter((code) => code === 'CLIENT_TIMEOUT')).toEqual([]);
    await proxy.close();
    await expect(call('GetRecords')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('close() cancels a pending latency rule', async () => {
    proxy.set('*', faults.latency(60_000));
    const settled = call('GetRecords').catch((error: unknown) => error);
    while (proxy.count() < 1) await sleep(10);
    await proxy.close();
    expect(await settled).toMatchObject({ code: 'ECONNRESET' });
    expect(targetRequests).toBe(0);
  });
});
