// A service's logs: what its tasks wrote, gathered by the manager from each
// task's node (json-file logs on the node, multiplexed as a container's are).
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { LogOptions } from '../engine.js';
import { demuxBuffer, demuxStream, parseSince } from '../docker/logs.js';
import { engineError } from './services.js';

interface Query {
  tail?: number;
  since?: number;
}

/** Everything the service's tasks wrote (or its last `tail` lines), stdout and stderr as they came. */
export async function serviceOutput(docker: Dockerode, service: string, q: Query = {}): Promise<string> {
  try {
    const buf = (await docker.getService(service).logs({ ...common(q), follow: false })) as unknown;
    return demuxBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf ?? '')));
  } catch (e) {
    throw engineError(`cannot read the logs of ${service}`, e);
  }
}

/** `odp logs`: the service's output, followed as its tasks write when asked. */
export async function serviceLogs(
  docker: Dockerode,
  unit: string,
  opts: LogOptions,
): Promise<NodeJS.ReadableStream> {
  const q = {
    ...(opts.tail ? { tail: opts.tail } : {}),
    ...(opts.since ? { since: parseSince(opts.since) } : {}),
  };
  if (!opts.follow) {
    const out = new PassThrough();
    out.end(await serviceOutput(docker, unit, q));
    return out;
  }
  try {
    return demuxStream(docker, await docker.getService(unit).logs({ ...common(q), follow: true }));
  } catch (e) {
    throw engineError(`cannot follow the logs of ${unit}`, e);
  }
}

function common(q: Query) {
  return {
    stdout: true,
    stderr: true,
    timestamps: false,
    since: q.since ?? 0,
    ...(q.tail ? { tail: q.tail } : {}),
  };
}
