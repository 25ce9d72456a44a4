// `odp deploy PROJECT integration|prod --version X.Y.Z`, applied: replicas are
// replaced one at a time with zero downtime (the new pair started under
// temporary names and healthy first, then names swapped so the edge, which
// resolves its servers by container name, follows; the old pair drained and
// removed). On any failure the new units go, the old names come back and the
// old version keeps serving. A first deploy runs the pending migration once in
// a one-off container of the new image, then starts the replicas with
// MIGRATE=False. The deployed version is written to the project's spec.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { sharedUnit } from '../compose/platform.js';
import { unitName, type Engine, type UnitSpec } from '../engines/engine.js';
import { OdpError } from '../errors.js';
import { projectFile } from '../platformdir/load.js';
import { EDGE_SOCKET } from '../render/haproxy-cfg.js';
import { writeFileAtomic } from '../platformdir/atomic-write.js';
import { withInstanceLock } from '../state/lock.js';
import type { EdgeControl } from './edge-sync.js';
import type { Progress } from './progress.js';
import { planUpgrade, type UpgradeContext, type UpgradePlan } from './upgrade-plan.js';

/**
 * How long the old replicas stay once the edge sends to the new ones: requests
 * in flight end, and the edge's idle connections to the old addresses are
 * purged (HAProxy's pool-purge-delay, 5 s) before the old nginx closes them.
 */
export const DRAIN_MS = 12_000;

export interface UpgradeOptions {
  version: string;
  dryRun?: boolean;
  passphraseFile?: string;
  healthTimeoutMs?: number;
  wait?: boolean;
  progress: Progress;
  edge?: EdgeControl;
  /** How long an old replica keeps its connections after the edge moved on. */
  drainMs?: number;
  /** Called with the plan before anything changes. */
  onPlan?: (plan: UpgradePlan) => void;
}

export interface UpgradeResult {
  plan: UpgradePlan;
  applied: boolean;
  localUrl?: string;
  url: string;
}

/** Deploys (or, with dryRun, only plans) a pinned version of integration or prod. */
export async function deployVersion(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: UpgradeOptions,
): Promise<UpgradeResult> {
  const run = async (): Promise<UpgradeResult> => {
    const ctx = await planUpgrade(engine, dir, project, instance, o);
    const result = { plan: ctx.plan, applied: false, url: `https://${ctx.plan.domain}/` };
    if (o.dryRun) return { ...result, ...(await localUrl(engine, ctx)) };
    if (ctx.plan.upToDate) {
      await writeVersion(dir, project, instance, o.version);
      return { ...result, ...(await localUrl(engine, ctx)) };
    }
    o.onPlan?.(ctx.plan);
    await apply(engine, ctx, o);
    await writeVersion(dir, project, instance, o.version);
    return { ...result, applied: true, ...(await localUrl(engine, ctx)) };
  };
  if (o.dryRun) return run();
  return withInstanceLock(
    dir,
    `${project}-${instance}`,
    { wait: o.wait ?? true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
    run,
  );
}

/** Whether applying this plan needs the migration flow with running replicas (backup, maintenance). */
export function needsLiveMigration(ctx: Pick<UpgradeContext, 'plan' | 'observed'>): boolean {
  // A fresh database has nothing to lose; anything else is backed up first.
  return (
    ctx.plan.migration.pending.length > 0 &&
    (!ctx.plan.migration.fresh || ctx.observed.some((u) => u.service === 'odoo' && u.state === 'running'))
  );
}

async function apply(engine: Engine, ctx: UpgradeContext, o: UpgradeOptions): Promise<void> {
  const { stack, plan } = ctx;
  if (needsLiveMigration(ctx)) {
    throw new OdpError(
      'USAGE',
      `${plan.project}/${plan.instance} has pending migrations (${plan.migration.pending.join(', ')}) on a database in use: upgrading with a migration is not available in this version of odp`,
      { hint: 'Nothing was changed.' },
    );
  }
  const labels = {
    'odp.platform': ctx.pd.platform.name,
    'odp.project': plan.project,
    'odp.instance': plan.instance,
  };
  await engine.ensureNetwork(stack.network, labels);
  if (plan.migration.pending.length > 0) await migrate(engine, ctx, o);

  for (const change of plan.replicas) {
    const odoo = unitOf(ctx, 'odoo', change.replica);
    const nginx = unitOf(ctx, 'nginx', change.replica);
    if (change.action === 'start' && odoo && nginx) await startPair(engine, ctx, odoo, nginx, o);
    else if (change.action === 'remove') {
      const key = `remove-${change.replica}`;
      o.progress.start(key, `remove replica ${change.replica}`);
      await engine.remove(unitName(stack.name, 'nginx', change.replica));
      await engine.remove(change.unit);
      o.progress.done(key);
    }
  }
  await replacePairs(
    engine,
    ctx,
    plan.replicas.filter((r) => r.action === 'replace').map((r) => r.replica),
    o,
  );
  if (plan.replicas.some((r) => r.action === 'start' || r.action === 'remove'))
    await routeAtEdge(ctx, o, true);
}

function unitOf(ctx: UpgradeContext, role: 'odoo' | 'nginx', replica: number): UnitSpec | undefined {
  return ctx.units.find((u) => u.service.role === role && u.replica === replica);
}

/** The unit under another service name: `<stack>-<service>-<replica>` becomes `<stack>-<as>-<replica>`. */
function as(u: UnitSpec, name: string, shares?: string): UnitSpec {
  return {
    ...u,
    service: { ...u.service, name },
    ...(shares ? { sharesNetworkWithUnit: shares } : {}),
  };
}

async function step<T>(o: UpgradeOptions, key: string, text: string, fn: () => Promise<T>): Promise<T> {
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

const wait = (engine: Engine, unit: string, o: UpgradeOptions) =>
  engine.waitHealthy(unit, {
    timeoutMs: o.healthTimeoutMs ?? 10 * 60_000,
    onWait: (d) => o.progress.note(d),
  });

/** A replica where none runs: its odoo, then its sidecar, both healthy. */
async function startPair(
  engine: Engine,
  ctx: UpgradeContext,
  odoo: UnitSpec,
  nginx: UnitSpec,
  o: UpgradeOptions,
): Promise<void> {
  const name = unitName(ctx.stack.name, 'odoo', odoo.replica);
  const side = unitName(ctx.stack.name, 'nginx', odoo.replica);
  await step(o, `start-${odoo.replica}`, `start ${name} and ${side}`, async () => {
    await engine.remove(side);
    await engine.remove(name);
    await engine.run(odoo);
    await engine.run(nginx);
    await wait(engine, name, o);
    await wait(engine, side, o);
  });
}

type PairNames = Record<'odoo' | 'nginx' | 'nextOdoo' | 'nextNginx' | 'oldOdoo' | 'oldNginx', string>;

function pairNames(stack: string, r: number): PairNames {
  return {
    odoo: unitName(stack, 'odoo', r),
    nginx: unitName(stack, 'nginx', r),
    nextOdoo: unitName(stack, 'odoo-next', r),
    nextNginx: unitName(stack, 'nginx-next', r),
    oldOdoo: unitName(stack, 'odoo-old', r),
    oldNginx: unitName(stack, 'nginx-old', r),
  };
}

/**
 * The replicas to replace, one at a time, without downtime: each new pair
 * healthy under `-next` names, the names swapped, the edge following. The old
 * pairs stay (renamed `-old`) until every replica is handed over, so a failure
 * anywhere puts every old pair back under its names, serving; and no address
 * an old pair frees goes to a new container the edge may still send to.
 */
async function replacePairs(
  engine: Engine,
  ctx: UpgradeContext,
  replicas: number[],
  o: UpgradeOptions,
): Promise<void> {
  const swapped: PairNames[] = [];
  for (const r of replicas) {
    const odoo = unitOf(ctx, 'odoo', r);
    const nginx = unitOf(ctx, 'nginx', r);
    if (!odoo || !nginx) continue;
    const n = pairNames(ctx.stack.name, r);
    // Leftovers of an interrupted attempt.
    for (const u of [n.nextNginx, n.nextOdoo, n.oldNginx, n.oldOdoo]) await engine.remove(u);
    let renamed = false;
    try {
      await step(
        o,
        `new-${r}`,
        `start the new replica ${r} (${odoo.service.image}) beside the old one`,
        async () => {
          const id = await engine.run(as(odoo, 'odoo-next'));
          await engine.run(as(nginx, 'nginx-next', id));
          await wait(engine, n.nextOdoo, o);
          await wait(engine, n.nextNginx, o);
        },
      );
      await step(o, `swap-${r}`, `hand ${n.odoo} over to the new replica`, async () => {
        renamed = true;
        await engine.rename(n.nginx, n.oldNginx);
        await engine.rename(n.odoo, n.oldOdoo);
        await engine.rename(n.nextOdoo, n.odoo);
        await engine.rename(n.nextNginx, n.nginx);
        // The edge resolves its servers by name: it now sends to the new pair.
        await edgeFollows(engine, ctx, n.odoo, o);
      });
      swapped.push(n);
    } catch (e) {
      const logs = await engine.lastLogs(renamed ? n.odoo : n.nextOdoo, 30).catch(() => '');
      o.progress.note(`putting the old version back on ${ctx.stack.name}`);
      for (const back of [...swapped, ...(renamed ? [n] : [])].reverse()) await putBack(engine, ctx, back, o);
      await quiet(engine.remove(n.nextNginx));
      await quiet(engine.remove(n.nextOdoo));
      const base = e instanceof OdpError ? e : undefined;
      throw new OdpError(
        'DEPLOY_FAILED',
        `replacing replica ${r} of ${ctx.stack.name} failed: ${base?.message ?? (e instanceof Error ? e.message : String(e))}; the old version keeps serving`,
        { cause: e, ...((base?.detail ?? logs.trim()) ? { detail: base?.detail ?? logs.trim() } : {}) },
      );
    }
  }
  if (swapped.length === 0) return;
  await step(o, 'drain', `drain and remove the old replicas (${swapped.length})`, async () => {
    await new Promise((res) => setTimeout(res, o.drainMs ?? DRAIN_MS));
    for (const n of swapped) {
      await engine.remove(n.oldNginx); // SIGQUIT: nginx ends the requests in flight first
      await engine.remove(n.oldOdoo);
    }
  });
}

const quiet = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    () => undefined,
  );

/** A swapped pair handed back: the old one under its names again, serving; the new one removed. */
async function putBack(engine: Engine, ctx: UpgradeContext, n: PairNames, o: UpgradeOptions): Promise<void> {
  if (!(await engine.explain(n.oldOdoo))) return; // never renamed away: the old pair still holds its names
  await quiet(engine.rename(n.nginx, n.nextNginx));
  await quiet(engine.rename(n.odoo, n.nextOdoo));
  await quiet(engine.rename(n.oldOdoo, n.odoo));
  await quiet(engine.rename(n.oldNginx, n.nginx));
  await quiet(engine.start(n.odoo));
  await quiet(engine.start(n.nginx));
  await quiet(edgeFollows(engine, ctx, n.odoo, o));
  await quiet(engine.remove(n.nextNginx));
  await quiet(engine.remove(n.nextOdoo));
}

/** With the platform's edge up: (re)route the instance and wait until it answers through it. */
async function routeAtEdge(ctx: UpgradeContext, o: UpgradeOptions, sync: boolean): Promise<void> {
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
 * Resolves once the edge's server for `unit` has the address Docker's DNS gives
 * for that name now (the new container's), as the runtime API shows it. Without
 * a running edge there is nothing to wait for.
 */
async function edgeFollows(
  engine: Engine,
  ctx: UpgradeContext,
  unit: string,
  o: UpgradeOptions,
): Promise<void> {
  if (!o.edge || !(await o.edge.running(ctx.pd))) return;
  const edge = sharedUnit(ctx.pd.platform, 'edge');
  const script =
    'want=$(getent ahostsv4 "$1" | awk \'NR==1{print $1}\'); ' +
    `have=$(printf 'show servers state\\n' | socat -t 5 stdio unix-connect:${EDGE_SOCKET} | awk -v s="$1" '$4==s{print $5; exit}'); ` +
    'echo "$want $have"';
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await engine.exec(edge, ['sh', '-c', script, 'sh', unit]);
    last = r.stdout.trim();
    const [want, have] = last.split(/\s+/);
    if (r.exitCode === 0 && want && want === have) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new OdpError('DEPLOY_FAILED', `the edge does not send ${unit} to its new container yet (${last})`);
}

/** The pending migration, once, in a one-off container of the new image on the tier network. */
async function migrate(engine: Engine, ctx: UpgradeContext, o: UpgradeOptions): Promise<void> {
  const odoo = unitOf(ctx, 'odoo', 1);
  if (!odoo) throw new OdpError('INTERNAL', `${ctx.stack.name} has no odoo unit`);
  const env = new Map([...odoo.service.env].filter(([k]) => k !== 'MIGRATE'));
  const { health: _health, ...service } = odoo.service;
  const task: UnitSpec = {
    ...odoo,
    publish: [],
    service: { ...service, name: 'migrate', env, labels: { ...service.labels, 'odp.service': 'migrate' } },
  };
  const name = unitName(ctx.stack.name, 'migrate', 1);
  await step(
    o,
    'migrate',
    `migrate ${ctx.plan.migration.pending.join(', ')} in one ${odoo.service.image} container`,
    async () => {
      await engine.remove(name);
      const r = await engine.runTask(task, ['migrate']);
      if (r.exitCode !== 0) {
        throw new OdpError('DEPLOY_FAILED', `the migration failed (exit ${r.exitCode})`, {
          detail: r.output.trim().split('\n').slice(-40).join('\n'),
        });
      }
    },
  );
}

/** instances.<inst>.version in projects/<name>.yaml, comments and layout kept. */
export async function writeVersion(
  dir: string,
  project: string,
  instance: string,
  version: string,
): Promise<void> {
  const file = projectFile(dir, project);
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.getIn(['instances', instance, 'version']) === version) return;
  doc.setIn(['instances', instance, 'version'], version);
  await writeFileAtomic(file, doc.toString());
}

async function localUrl(engine: Engine, ctx: UpgradeContext): Promise<{ localUrl?: string }> {
  const observed = await engine.observe({
    platform: ctx.pd.platform.name,
    project: ctx.plan.project,
    instance: ctx.plan.instance,
  });
  const odoo = observed.units.find((u) => u.name === unitName(ctx.stack.name, 'odoo', 1));
  const port = odoo?.ports[80];
  return port ? { localUrl: `http://127.0.0.1:${port}/` } : {};
}
