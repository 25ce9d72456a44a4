// Waiting for a unit to be ready while a deploy waits for it: odp probes the unit
// itself at a short interval, for as long as it waits (docs/decisions/0050), so the
// unit's own health check can run every 60 s instead of every second forever.
//
// Each round reads the container's state first (exited, restarting or unhealthy:
// failed at once; the engine already says healthy: ready), then probes:
// - an HTTP probe goes from here to the unit's address on its network (a sidecar's
//   is its owner's): no process in the container, no exec. Docker's bridge
//   addresses are reachable from the engine's host; when odp runs elsewhere
//   (DOCKER_HOST over TCP) or cannot reach the address, the probe runs inside the
//   unit instead, as the health check would;
// - a command probe (pg_isready, redis-cli ping) runs inside the unit through one
//   exec per round: the same cost as a health check, paid only while waiting.
import http from 'node:http';
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { httpProbe } from '../../render/probe.js';
import type { ReadinessProbe, WaitOptions } from '../engine.js';
import { statusOf } from './api-errors.js';
import { execIn } from './exec.js';

/** Between two probes from here (an HTTP request: cheap for both sides). */
export const HTTP_PROBE_INTERVAL_MS = 250;
/** Between two probes inside the unit (an exec: a process in the container). */
export const EXEC_PROBE_INTERVAL_MS = 500;
/** Failed HTTP probes that never reached the unit before the probe moves inside it. */
const UNREACHABLE_TRIES = 3;

type Verdict = { ready: true } | { ready: false; fatal?: string; unreachable?: boolean };

export async function waitReady(
  docker: Dockerode,
  unit: string,
  probe: ReadinessProbe | undefined,
  opts: WaitOptions & { probeFromHost: boolean },
  lastLogs: (lines: number) => Promise<string>,
): Promise<void> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let nextNote = started + 5000;
  let fromHost = opts.probeFromHost && probe?.http !== undefined;
  let unreachable = 0;
  const fail = async (why: string): Promise<never> => {
    throw new OdpError('DEPLOY_FAILED', `${unit} ${why}`, {
      detail: await lastLogs(40),
      hint: `See all of its output with: odp logs … (container ${unit})`,
    });
  };

  let restarts: number | undefined;
  for (;;) {
    const state = await stateOf(docker, unit, (restarts ??= await restartCount(docker, unit)));
    if (state.fatal) return fail(state.fatal);
    if (state.healthy || !probe) return;
    const v = fromHost ? await probeHttp(docker, probe, state.info) : await probeInside(docker, unit, probe);
    if (v.ready) return;
    if (v.fatal) return fail(v.fatal);
    if (v.unreachable && ++unreachable >= UNREACHABLE_TRIES) fromHost = false;
    const now = Date.now();
    if (now >= deadline) return fail(`did not become healthy within ${Math.round(opts.timeoutMs / 1000)}s`);
    if (now >= nextNote) {
      opts.onWait?.(`waiting for ${unit} (${Math.round((now - started) / 1000)}s)`);
      nextNote = now + 5000;
    }
    const pause = fromHost ? HTTP_PROBE_INTERVAL_MS : EXEC_PROBE_INTERVAL_MS;
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, deadline - now))));
  }
}

interface State {
  fatal?: string;
  healthy?: boolean;
  info?: Dockerode.ContainerInspectInfo;
}

async function restartCount(docker: Dockerode, unit: string): Promise<number> {
  return docker
    .getContainer(unit)
    .inspect()
    .then(
      (i) => i.RestartCount,
      () => 0,
    );
}

async function stateOf(docker: Dockerode, unit: string, restartsBefore: number): Promise<State> {
  let info: Dockerode.ContainerInspectInfo;
  try {
    info = await docker.getContainer(unit).inspect();
  } catch (e) {
    if (statusOf(e) === 404) return { fatal: 'is gone (removed while it was awaited)' };
    throw e;
  }
  // A restart while waiting is an exit: a unit that crashed is not ready, whatever its policy.
  if (!info.State.Running || info.State.Restarting || info.RestartCount > restartsBefore)
    return { fatal: `exited before it became healthy (exit code ${info.State.ExitCode})` };
  const health = info.State.Health?.Status;
  if (health === 'unhealthy') return { fatal: 'is unhealthy' };
  return { healthy: health === 'healthy', info };
}

/** The unit's address: its own on its first network, or its owner's when it shares one's namespace. */
async function addressOf(
  docker: Dockerode,
  info: Dockerode.ContainerInspectInfo,
): Promise<string | undefined> {
  const mode = info.HostConfig.NetworkMode ?? '';
  const owner = mode.startsWith('container:') ? mode.slice('container:'.length) : undefined;
  const nets = owner
    ? (await docker.getContainer(owner).inspect()).NetworkSettings.Networks
    : info.NetworkSettings.Networks;
  return Object.values(nets ?? {}).find((n) => n.IPAddress)?.IPAddress;
}

async function probeHttp(
  docker: Dockerode,
  probe: ReadinessProbe,
  info: Dockerode.ContainerInspectInfo | undefined,
): Promise<Verdict> {
  const target = probe.http!;
  const ip = info ? await addressOf(docker, info).catch(() => undefined) : undefined;
  if (!ip) return { ready: false, unreachable: true };
  return new Promise<Verdict>((resolve) => {
    const req = http.get(
      {
        host: ip,
        port: target.port,
        path: target.path,
        // As the in-container probe asks: Odoo and nginx answer for any host.
        headers: { Host: 'localhost', Connection: 'close' },
        timeout: probe.timeoutSeconds * 1000,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve({ ready: res.statusCode === 200 });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) =>
      // Refused or reset: the address is reached, nothing listens yet. Anything
      // else (no route, a timeout) may mean this host cannot reach it at all.
      resolve({ ready: false, unreachable: e.code !== 'ECONNREFUSED' && e.code !== 'ECONNRESET' }),
    );
  });
}

/** The probe run inside the unit, bounded by the check's own timeout. */
export async function probeInside(docker: Dockerode, unit: string, probe: ReadinessProbe): Promise<Verdict> {
  const command = probe.http ? httpProbe(probe.http.path, probe.http.port).slice(1) : (probe.command ?? []);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false }), probe.timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([
      execIn(docker, unit, command).then(
        (r) => ({ ready: r.exitCode === 0 }),
        () => ({ ready: false }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
