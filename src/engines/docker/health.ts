// Waiting for a container to be healthy on Docker's own events, not on sleeps:
// subscribe first, then read the current state (so no transition is missed),
// then let the next `health_status` or `die` event decide.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import type { WaitOptions } from '../engine.js';

interface DockerEvent {
  Action?: string;
  status?: string;
}

export async function waitHealthy(
  docker: Dockerode,
  unit: string,
  opts: WaitOptions,
  lastLogs: (lines: number) => Promise<string>,
): Promise<void> {
  const events = (await docker.getEvents({
    filters: { type: ['container'], container: [unit], event: ['health_status', 'die', 'destroy'] },
  })) as NodeJS.ReadableStream & { destroy?: () => void };

  const fail = async (why: string): Promise<OdpError> =>
    new OdpError('DEPLOY_FAILED', `${unit} ${why}`, {
      detail: await lastLogs(40),
      hint: `See all of its output with: odp logs … (container ${unit})`,
    });

  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (ok: boolean, why = '') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(ticker);
        if (ok) resolve();
        else fail(why).then(reject, reject);
      };
      const started = Date.now();
      const timer = setTimeout(
        () => settle(false, `did not become healthy within ${Math.round(opts.timeoutMs / 1000)}s`),
        opts.timeoutMs,
      );
      const ticker = setInterval(
        () => opts.onWait?.(`waiting for ${unit} (${Math.round((Date.now() - started) / 1000)}s)`),
        5000,
      );

      let buffer = '';
      events.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const ev = JSON.parse(line) as DockerEvent;
          const action = ev.Action ?? ev.status ?? '';
          if (action === 'health_status: healthy') settle(true);
          else if (action === 'health_status: unhealthy') settle(false, 'is unhealthy');
          else if (action === 'die' || action === 'destroy') settle(false, 'exited before it became healthy');
        }
      });
      events.on('error', (e: Error) => settle(false, `: lost the engine's events (${e.message})`));

      // The state now, in case the decisive event came before we subscribed.
      docker
        .getContainer(unit)
        .inspect()
        .then((info) => {
          if (!info.State.Running) settle(false, `is not running (exit code ${info.State.ExitCode})`);
          else if (!info.State.Health)
            settle(true); // no health check: running is all we can know
          else if (info.State.Health.Status === 'healthy') settle(true);
          else if (info.State.Health.Status === 'unhealthy') settle(false, 'is unhealthy');
        })
        .catch((e: Error) => settle(false, `cannot be inspected: ${e.message}`));
    });
  } finally {
    events.removeAllListeners('data');
    events.destroy?.();
  }
}
