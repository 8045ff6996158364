import { endpointInMessage } from '../../../lib/leases/preflight';

describe('endpointInMessage: the Kinesis endpoint in a bootstrap error', () => {
  it('shows the URL of a string, a URL, an EndpointV2 and an Endpoint', () => {
    expect(endpointInMessage('http://127.0.0.1:4567')).toBe('http://127.0.0.1:4567');
    expect(endpointInMessage(new URL('http://127.0.0.1:4567/'))).toBe('http://127.0.0.1:4567/');
    expect(endpointInMessage({ url: new URL('https://kinesis.eu-west-1.amazonaws.com/') })).toBe(
      'https://kinesis.eu-west-1.amazonaws.com/',
    );
    expect(endpointInMessage({ protocol: 'http', hostname: 'localhost', port: 4567, path: '/' })).toBe('http://localhost:4567/');
    expect(endpointInMessage({ protocol: 'https:', hostname: 'kinesis.local' })).toBe('https://kinesis.local');
  });

  it('names a provider function or an unknown object instead of printing its source or [object Object]', () => {
    const provider = () => Promise.resolve({ url: new URL('http://127.0.0.1:4567') });
    expect(endpointInMessage(provider)).toBe('the endpoint the kinesis.endpoint provider gives');
    expect(endpointInMessage({ somethingElse: true })).toBe('the kinesis.endpoint given');
  });
});
