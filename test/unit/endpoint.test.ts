// Where a published port is dialled from: Docker's bindings read as an address
// (no daemon needed; the e2e tests dial the real ones).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publishedEndpoint } from '../../src/engines/docker/endpoint.js';

const bind = (HostIp: string, HostPort: string) => ({ HostIp, HostPort });

test('a loopback binding is dialled as it is', () => {
  const ports = { '5432/tcp': [bind('127.0.0.1', '32768')] };
  assert.deepEqual(publishedEndpoint(ports, 5432, undefined), { host: '127.0.0.1', port: 32768 });
});

test('a wildcard binding is the local loopback, or the remote engine host; IPv4 first', () => {
  const ports = { '443/tcp': [bind('0.0.0.0', '8443'), bind('::', '8443')] };
  assert.deepEqual(publishedEndpoint(ports, 443, undefined), { host: '127.0.0.1', port: 8443 });
  assert.deepEqual(publishedEndpoint(ports, 443, 'docker.example.com'), {
    host: 'docker.example.com',
    port: 8443,
  });
  assert.deepEqual(publishedEndpoint({ '443/tcp': [bind('::', '8443')] }, 443, undefined), {
    host: '::1',
    port: 8443,
  });
});

test('a port that is not published has no endpoint', () => {
  assert.equal(publishedEndpoint({ '80/tcp': [bind('127.0.0.1', '8080')] }, 443, undefined), undefined);
  assert.equal(publishedEndpoint(undefined, 80, undefined), undefined);
  assert.equal(publishedEndpoint({ '80/tcp': null as never }, 80, undefined), undefined);
});
