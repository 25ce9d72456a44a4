// One place that decides how odp reaches the Docker Engine, so the engine, the
// image store and the tests all talk to the same daemon.
import Dockerode from 'dockerode';

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
