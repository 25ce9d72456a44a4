// One place that decides how odp reaches a Docker Engine, so the engine, the
// image store and the tests all talk to the same daemon, and a swarm's nodes
// are reached the same way as the manager (DOCKER_HOST's syntax).
import fs from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';

/**
 * A Dockerode client for `DOCKER_HOST` when it is set (unix://, tcp:// with the
 * usual DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), else the default local socket.
 * docker-modem already understands DOCKER_HOST; we only pin the default socket so
 * a missing variable never makes it guess another path.
 */
export function makeDocker(env: NodeJS.ProcessEnv = process.env): Dockerode {
  const host = env.DOCKER_HOST;
  if (!host) return new Dockerode({ socketPath: '/var/run/docker.sock' });
  if (host.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  // tcp:// (and TLS) settings are read from the environment by docker-modem itself.
  return new Dockerode();
}

/**
 * A client for an engine named by a URL in DOCKER_HOST's syntax: `unix:///path`,
 * `tcp://host:port` (TLS as DOCKER_TLS_VERIFY and DOCKER_CERT_PATH say, or on
 * 2376) or `ssh://user@host[:port]` (keys from the SSH agent). How odp reaches
 * a swarm node's own engine (`hosts.<name>.docker`), where Swarm has no API.
 */
export function dockerAt(address: string, env: NodeJS.ProcessEnv = process.env): Dockerode {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new OdpError('USAGE', `"${address}" is not an engine address`, {
      hint: 'Write it as DOCKER_HOST is written: ssh://root@10.0.1.12, tcp://10.0.1.12:2376, unix:///var/run/docker.sock.',
    });
  }
  if (url.protocol === 'unix:') return new Dockerode({ socketPath: url.pathname });
  if (url.protocol === 'ssh:') {
    return new Dockerode({
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      username: decodeURIComponent(url.username || 'root'),
      sshOptions: { agent: env.SSH_AUTH_SOCK },
    } as Dockerode.DockerOptions);
  }
  if (url.protocol !== 'tcp:') {
    throw new OdpError('USAGE', `engine address ${address}: expected unix://, tcp:// or ssh://`);
  }
  const tls = env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  const certs = env.DOCKER_CERT_PATH;
  const read = (f: string) => fs.readFileSync(path.join(certs!, f));
  return new Dockerode({
    protocol: tls ? 'https' : 'http',
    host: url.hostname,
    port: Number(url.port || (tls ? 2376 : 2375)),
    ...(tls && certs ? { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') } : {}),
  });
}
