// How odp reaches a node's own engine from the address a host declares
// (`hosts.<name>.docker`, DOCKER_HOST's syntax; docs/decisions/0071).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dockerAt } from '../../src/engines/docker/client.js';

type Modem = { host?: string; port?: number; protocol?: string; username?: string; socketPath?: string };
const modem = (address: string, env: NodeJS.ProcessEnv = {}): Modem =>
  (dockerAt(address, env) as unknown as { modem: Modem }).modem;

test('ssh:// goes through the SSH agent as the URL’s user (root by default), port 22 unless given', () => {
  const m = modem('ssh://deploy@10.0.1.12:2222', { SSH_AUTH_SOCK: '/tmp/agent' });
  assert.deepEqual([m.protocol, m.host, m.port, m.username], ['ssh', '10.0.1.12', 2222, 'deploy']);
  const d = modem('ssh://10.0.1.12');
  assert.deepEqual([d.port, d.username], [22, 'root']);
});

test('tcp:// is plain HTTP, or TLS on 2376 or when DOCKER_TLS_VERIFY says so', () => {
  assert.deepEqual(
    [modem('tcp://10.0.1.12:2375').protocol, modem('tcp://10.0.1.12:2375').port],
    ['http', 2375],
  );
  assert.equal(modem('tcp://10.0.1.12:2376').protocol, 'https');
  assert.equal(modem('tcp://10.0.1.12:4000', { DOCKER_TLS_VERIFY: '1' }).protocol, 'https');
});

test('unix:// is a socket path; anything else is refused, saying how to write it', () => {
  assert.equal(modem('unix:///run/docker.sock').socketPath, '/run/docker.sock');
  assert.throws(() => dockerAt('http://10.0.1.12'), /expected unix:\/\/, tcp:\/\/ or ssh:\/\//);
  assert.throws(() => dockerAt('10.0.1.12'), /is not an engine address/);
});
