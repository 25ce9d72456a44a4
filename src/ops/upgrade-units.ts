// The pieces every way of changing a pinned instance's replicas is made of:
// the units of a replica, steps reported as progress, waiting for health,
// following the edge, and the one-off migration container. Used by the
// zero-downtime upgrade (upgrade.ts), the upgrade with a migration
// (upgrade-live.ts), rollback and the recovery of an interrupted deploy.
import { edgeNetwork, sharedUnit } from '../compose/platform.js';
import type { Engine, UnitSpec } from '../engines/engine.js';
import { unitName } from '../model/stack.js';
import { OdpError } from '../errors.js';
import { readinessProbe } from '../plan/plan.js';
import { backendName, EDGE_SOCKET } from '../render/haproxy-cfg.js';
import type { EdgeControl } from './edge-sync.js';
import type { Progress } from '../progress.js';
import type { UpgradeContext } from './upgrade-plan.js';

/** What the unit helpers need of the caller's options. */
export interface UnitOptions {
  progress: Progress;
  healthTimeoutMs?: number;
  edge?: EdgeControl;
}

export function unitOf(ctx: UpgradeContext, role: 'odoo' | 'nginx', replica: number): UnitSpec | undefined {
  return ctx.units.find((u) => u.service.role === role && u.replica === replica);
}

/** The unit under another service name: `<stack>-<service>-<replica>` becomes `<stack>-<as>-<replica>`. */
export function as(u: UnitSpec, name: string, shares?: string): UnitSpec {
  return {
    ...u,
    service: { ...u.service, name },
    ...(shares ? { sharesNetworkWithUnit: shares } : {}),
  };
}

export async function step<T>(o: UnitOptions, key: string, text: string, fn: () => Promise<T>): Promise<T> {
  o.progress.start(key, text);
  try {
    const r = await fn();
    o.progress.done(key);
    return r;
  } catch (e) {
    o.progress.fail(key, e instanceof Error ? e.message : String(e));
    throw e;
  }
}

/** Waits until `unit` (running `spec`'s service) answers its probe, within the health deadline. */
export const wait = (engine: Engine, unit: string, spec: UnitSpec | undefined, o: UnitOptions) =>
  engine.waitReady(unit, spec?.service.health ? readinessProbe(spec.service.health) : undefined, {
    timeoutMs: o.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
    onWait: (d) => o.progress.note(d),
  });

/** The deploy health deadline when none is given (`--health-timeout`). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 10 * 60_000;

export type PairNames = Record<'odoo' | 'nginx' | 'nextOdoo' | 'nextNginx' | 'oldOdoo' | 'oldNginx', string>;

export function pairNames(stack: string, r: number): PairNames {
  return {
    odoo: unitName(stack, 'odoo', r),
    nginx: unitName(stack, 'nginx', r),
    nextOdoo: unitName(stack, 'odoo-next', r),
    nextNginx: unitName(stack, 'nginx-next', r),
    oldOdoo: unitName(stack, 'odoo-old', r),
    oldNginx: unitName(stack, 'nginx-old', r),
  };
}

export const quiet = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    () => undefined,
  );

/** With the platform's edge up: (re)route the instance and wait until it answers through it. */
export async function routeAtEdge(
  ctx: Pick<UpgradeContext, 'pd' | 'plan'>,
  o: UnitOptions,
  sync: boolean,
): Promise<void> {
  const edge = o.edge;
  if (!edge || !(await edge.running(ctx.pd))) return;
  await step(o, `edge-${Date.now()}`, `route ${ctx.plan.domain} through the edge`, async () => {
    if (sync) await edge.sync(ctx.pd);
    if (!(await edge.waitRouted(ctx.pd, ctx.plan.domain, 60_000))) {
      throw new OdpError('DEPLOY_FAILED', `the edge does not route ${ctx.plan.domain}`);
    }
  });
}

/**
 * Points the edge's server for `unit` at the unit's container now holding that
 * name, through HAProxy's runtime API, and resolves once the API shows it.
 *
 * Not left to DNS: right after a rename Docker's DNS answers the name with the
 * old container's address as well as the new one (measured: the first record
 * alternates until the old container is gone), and HAProxy keeps its current
 * address as long as an answer contains it — so it kept sending to the old
 * replica, then marked the server down when the drain removed it. Once set, the
 * new address stays: later answers contain it. Without a running edge there is
 * nothing to do.
 */
export async function edgeFollows(
  engine: Engine,
  ctx: Pick<UpgradeContext, 'pd' | 'plan'>,
  unit: string,
  o: UnitOptions,
): Promise<void> {
  if (!o.edge || !(await o.edge.running(ctx.pd))) return;
  const edge = sharedUnit(ctx.pd.platform, 'edge');
  const want = await engine.address(unit, edgeNetwork(ctx.pd.platform));
  if (!want) throw new OdpError('DEPLOY_FAILED', `${unit} has no address on the edge's network`);
  const server = `${backendName(ctx.plan.domain)}/${unit}`;
  const script =
    // The unit is healthy (its own health check passed): the edge need not wait
    // for `rise` checks of its own before sending to it.
    `printf 'set server %s addr %s port 80; set server %s health up\\n' "$1" "$2" "$1" | socat -t 5 stdio unix-connect:${EDGE_SOCKET} >/dev/null; ` +
    `printf 'show servers state\\n' | socat -t 5 stdio unix-connect:${EDGE_SOCKET} | awk -v s="$3" '$4==s{print $5; exit}'`;
  const deadline = Date.now() + 60_000;
  let have = '';
  while (Date.now() < deadline) {
    const r = await engine.exec(edge, ['sh', '-c', script, 'sh', server, want, unit]);
    have = r.stdout.trim();
    if (r.exitCode === 0 && have === want) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new OdpError(
    'DEPLOY_FAILED',
    `the edge does not send ${unit} to ${want} (it has ${have || 'nothing'})`,
  );
}

/** The pending migration, once, in a one-off container of the new image on the tier network. */
export async function migrate(engine: Engine, ctx: UpgradeContext, o: UnitOptions): Promise<void> {
  await step(o, 'migrate', migrationText(ctx), () => runMigration(engine, ctx));
}

/** The migrate step's text; the recovery of an interrupted deploy looks for its first word. */
export function migrationText(ctx: UpgradeContext): string {
  return `migrate ${ctx.plan.migration.pending.join(', ')} in one ${ctx.plan.image.to} container`;
}

/** The migration container itself: runs to its end; a non-zero exit is an error with its output. */
export async function runMigration(engine: Engine, ctx: UpgradeContext): Promise<void> {
  const odoo = unitOf(ctx, 'odoo', 1);
  if (!odoo) throw new OdpError('INTERNAL', `${ctx.stack.name} has no odoo unit`);
  const env = new Map([...odoo.service.env].filter(([k]) => k !== 'MIGRATE'));
  const { health: _health, ...service } = odoo.service;
  const task: UnitSpec = {
    ...odoo,
    publish: [],
    service: { ...service, name: 'migrate', env, labels: { ...service.labels, 'odp.service': 'migrate' } },
  };
  await engine.remove(unitName(ctx.stack.name, 'migrate', 1));
  const r = await engine.runTask(task, ['migrate']);
  if (r.exitCode !== 0) {
    throw new OdpError('DEPLOY_FAILED', `the migration failed (exit ${r.exitCode})`, {
      detail: r.output.trim().split('\n').slice(-40).join('\n'),
    });
  }
}

/** A replica where none runs: its odoo, then its sidecar, both healthy. */
export async function startPair(
  engine: Engine,
  ctx: UpgradeContext,
  odoo: UnitSpec,
  nginx: UnitSpec,
  o: UnitOptions,
): Promise<void> {
  const name = unitName(ctx.stack.name, 'odoo', odoo.replica);
  const side = unitName(ctx.stack.name, 'nginx', odoo.replica);
  await step(o, `start-${odoo.replica}`, `start ${name} and ${side}`, async () => {
    await engine.remove(side);
    await engine.remove(name);
    await engine.run(odoo);
    await engine.run(nginx);
    await wait(engine, name, odoo, o);
    await wait(engine, side, nginx, o);
  });
}
