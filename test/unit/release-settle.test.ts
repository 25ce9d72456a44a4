// Release plans of pinned instances and their recovery, on a model of the
// world (units, database, edge, maintenance) that applies steps as the
// executor would: every prod flow is cut after every step (and in the middle
// of each), settled, and must end with exactly one release serving, on the
// database state that release expects, out of maintenance.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRelease, releaseId, type ReleaseFacts } from '../../src/plan/release.js';
import type { ReleasePlan, ReleaseStep } from '../../src/plan/release-steps.js';
import { settle, type RecordedStep } from '../../src/plan/settle.js';

const STACK = 'acme-odoo-prod';
const OLD = releaseId('1.0.0', 'aaaa1111');
const NEW = releaseId('1.1.0', 'bbbb2222');
const name = (role: string, release: string, r: number) => `${STACK}-${role}-${release}-${r}`;

interface Unit {
  release: string;
  role: string;
  running: boolean;
}
interface World {
  units: Map<string, Unit>;
  /** Which release's schema the database has; 'broken': a migration half done. */
  db: string;
  maintenance: boolean;
  edge: string[];
  version: string;
  backups: Map<string, string>;
}

function world(replicas: number, opts: { running?: boolean } = {}): World {
  const units = new Map<string, Unit>();
  if (opts.running !== false) {
    for (let r = 1; r <= replicas; r++) {
      units.set(name('odoo', OLD, r), { release: OLD, role: 'odoo', running: true });
      units.set(name('nginx', OLD, r), { release: OLD, role: 'nginx', running: true });
    }
  }
  return {
    units,
    db: OLD,
    maintenance: false,
    edge: opts.running === false ? [] : [...units].filter(([, u]) => u.role === 'odoo').map(([n]) => n),
    version: '1.0.0',
    backups: new Map([['20260101T000000Z', 'pre-old']]),
  };
}

function facts(
  w: World,
  replicas: number,
  database: ReleaseFacts['database'],
  version = '1.1.0',
  release = NEW,
): ReleaseFacts {
  const hash = release === NEW ? 'bbbb2222' : 'aaaa1111';
  return {
    project: 'acme',
    instance: 'prod',
    stack: STACK,
    network: `${STACK}-net`,
    networkExists: true,
    domain: 'erp.acme.test',
    version,
    release,
    pairs: Array.from({ length: replicas }, (_, i) => ({
      replica: i + 1,
      odoo: { name: name('odoo', release, i + 1), image: `acme:${version}`, configHash: `${hash}-odoo` },
      nginx: { name: name('nginx', release, i + 1), image: 'nginx', configHash: `${hash}-nginx` },
    })),
    observed: [...w.units].map(([n, u]) => ({
      name: n,
      service: u.role,
      replica: Number(n.slice(n.lastIndexOf('-') + 1)),
      release: u.release,
      state: u.running ? 'running' : 'exited',
      health: 'healthy',
      configHash: `${u.release === NEW ? 'bbbb2222' : 'aaaa1111'}-${u.role}`,
    })),
    serving: w.edge.length ? [...w.edge] : undefined,
    database,
    drainSeconds: 12,
  };
}

let backupSeq = 0;
/** Applies one step to the world as the executor would; returns the restore point it took, if any. */
function apply(w: World, s: ReleaseStep, plan: ReleasePlan, ctx: { restorePoint?: string }): void {
  switch (s.kind) {
    case 'take-restore-point': {
      const id = `2026120${++backupSeq}T000000Z`;
      w.backups.set(id, w.db);
      ctx.restorePoint = id;
      return;
    }
    case 'create-unit':
      w.units.set(s.unit, { release: s.release, role: s.role, running: false });
      return;
    case 'start-unit':
      if (s.created) assert.ok(w.units.has(s.unit), `${s.id}: ${s.unit} was made`);
      w.units.set(s.unit, { release: s.release, role: s.role, running: true });
      return;
    case 'create-job':
      w.units.set(s.job, { release: plan.release, role: 'migrate', running: false });
      return;
    case 'stop-unit':
      w.units.get(s.unit)!.running = false;
      return;
    case 'resume-unit':
      w.units.get(s.unit)!.running = true;
      return;
    case 'remove-unit':
      w.units.delete(s.unit);
      return;
    case 'wait-healthy':
      assert.ok(w.units.get(s.unit)?.running, `${s.id}: ${s.unit} runs`);
      return;
    case 'run-migration':
      assert.ok(w.units.has(s.job), `${s.id}: ${s.job} was made`);
      w.db = plan.release;
      return;
    case 'restore-database': {
      const id = s.backup || ctx.restorePoint!;
      const state = w.backups.get(id);
      assert.ok(state, `backup ${id} exists`);
      w.db = state === 'pre-old' ? OLD : state;
      return;
    }
    case 'route-edge':
      w.edge = [...s.servers];
      return;
    case 'enter-maintenance':
      w.maintenance = true;
      return;
    case 'leave-maintenance':
      w.maintenance = false;
      return;
    case 'record-version':
      w.version = s.version;
      return;
    case 'drain':
    case 'create-network':
      return;
  }
}

/** The steps in an order the executor may run them (the plan's order respects `after`). */
function checkOrder(steps: ReleaseStep[]): void {
  const seen = new Set<string>();
  for (const s of steps) {
    for (const a of s.after) assert.ok(seen.has(a), `${s.id} runs after ${a}`);
    assert.ok(!seen.has(s.id), `${s.id} is unique`);
    seen.add(s.id);
  }
  // The executor runs steps in parallel: a step on a unit the plan makes must
  // wait for its making through `after`, not merely come later in the list.
  const byId = new Map(steps.map((s) => [s.id, s]));
  const waitsFor = (s: ReleaseStep, id: string): boolean =>
    s.after.some((a) => a === id || waitsFor(byId.get(a)!, id));
  for (const s of steps) {
    const making =
      s.kind === 'run-migration'
        ? `create-job:${s.job}`
        : s.kind === 'start-unit' && s.created
          ? `create-unit:${s.unit}`
          : '';
    if (making && byId.has(making)) assert.ok(waitsFor(s, making), `${s.id} waits for ${making}`);
  }
}

function serves(w: World): { release: string } {
  assert.equal(w.maintenance, false, 'out of maintenance');
  assert.ok(w.edge.length > 0, 'the edge routes somewhere');
  const releases = new Set(w.edge.map((n) => w.units.get(n)?.release));
  assert.equal(releases.size, 1, `one release serves: ${w.edge.join(', ')}`);
  for (const n of w.edge) {
    assert.ok(w.units.get(n)?.running, `${n} runs`);
    const side = `${STACK}-nginx-${n.slice(`${STACK}-odoo-`.length)}`;
    assert.ok(w.units.get(side)?.running, `${side} runs`);
  }
  const release = [...releases][0]!;
  const others = [...w.units.values()].filter((u) => u.release !== release);
  assert.deepEqual(others, [], 'no unit of another release is left');
  return { release };
}

interface Flow {
  name: string;
  replicas: number;
  before: () => World;
  database: (w: World) => ReleaseFacts['database'];
  /** The release and database the world ends with when carried through. */
  target: { release: string; db: string; version: string };
  version?: string;
  release?: string;
}

const flows: Flow[] = [
  {
    name: 'upgrade without migration (rolling), 2 replicas',
    replicas: 2,
    before: () => world(2),
    database: () => ({
      kind: 'migrate',
      versions: [],
      fresh: false,
      job: name('migrate', NEW, 1),
      image: 'acme:1.1.0',
    }),
    target: { release: NEW, db: OLD, version: '1.1.0' },
  },
  {
    name: 'upgrade with a migration (maintenance), 2 replicas',
    replicas: 2,
    before: () => world(2),
    database: () => ({
      kind: 'migrate',
      versions: ['1.1.0'],
      fresh: false,
      job: name('migrate', NEW, 1),
      image: 'acme:1.1.0',
    }),
    target: { release: NEW, db: NEW, version: '1.1.0' },
  },
  {
    name: 'rollback with a restore (maintenance), 1 replica',
    replicas: 1,
    before: () => {
      const w = world(1);
      // What runs: the new release on its migrated database.
      w.units = new Map([
        [name('odoo', NEW, 1), { release: NEW, role: 'odoo', running: true }],
        [name('nginx', NEW, 1), { release: NEW, role: 'nginx', running: true }],
      ]);
      w.edge = [name('odoo', NEW, 1)];
      w.db = NEW;
      w.version = '1.1.0';
      return w;
    },
    database: () => ({ kind: 'restore', backup: '20260101T000000Z' }),
    version: '1.0.0',
    release: OLD,
    target: { release: OLD, db: OLD, version: '1.0.0' },
  },
  {
    name: 'first deploy on a fresh database',
    replicas: 1,
    before: () => ({ ...world(1, { running: false }), db: 'empty' }),
    database: () => ({
      kind: 'migrate',
      versions: ['setup', '1.1.0'],
      fresh: true,
      job: name('migrate', NEW, 1),
      image: 'acme:1.1.0',
    }),
    target: { release: NEW, db: NEW, version: '1.1.0' },
  },
];

describe('release plans', () => {
  it('a release is named by its version and configuration, in DNS-safe characters', () => {
    assert.equal(releaseId('14.0.1.2.0', 'abcdef0123'), '14-0-1-2-0-abcd');
    assert.notEqual(releaseId('1.0.0', 'abcd'), releaseId('1.0.0', 'abce'));
  });

  it('an upgrade without a migration starts the new units beside the old ones, then switches the edge', () => {
    const f = flows[0]!;
    const p = planRelease(facts(f.before(), 2, f.database(f.before())));
    assert.equal(p.flow, 'rolling');
    checkOrder(p.steps);
    const kinds = p.steps.map((s) => s.kind);
    assert.ok(!kinds.includes('enter-maintenance') && !kinds.includes('take-restore-point'));
    assert.ok(!kinds.includes('stop-unit'), 'the old units serve until the edge switches');
    const route = kinds.indexOf('route-edge');
    assert.ok(kinds.lastIndexOf('wait-healthy') < route && route < kinds.indexOf('drain'));
    const removals = p.steps.filter((s) => s.kind === 'remove-unit');
    assert.equal(removals.length, 4);
    // The old odoo units go only once every old sidecar is gone.
    for (const r of removals.filter((s) => s.id.includes('-odoo-1-0-0-')))
      assert.deepEqual(
        r.after.sort(),
        removals
          .filter((s) => s.id.includes('-nginx-'))
          .map((s) => s.id)
          .sort(),
      );
    assert.equal(kinds.at(-1), 'record-version');
  });

  it('an upgrade with a migration takes a restore point and migrates once in maintenance', () => {
    const f = flows[1]!;
    const p = planRelease(facts(f.before(), 2, f.database(f.before())));
    assert.equal(p.flow, 'maintenance');
    checkOrder(p.steps);
    const kinds = p.steps.map((s) => s.kind);
    // Everything that can be made before the window is: the new units and the migration's.
    const before = kinds.slice(0, kinds.indexOf('enter-maintenance'));
    assert.deepEqual(
      [...new Set(before)].sort(),
      ['create-job', 'create-unit', 'take-restore-point'],
      'made before the window',
    );
    assert.equal(before.filter((k) => k === 'create-unit').length, 4);
    const enter = p.steps.find((s) => s.kind === 'enter-maintenance')!;
    assert.equal(
      enter.after.length,
      before.length - 2,
      'the window waits for the restore point and what is made',
    );
    assert.ok(
      p.steps.filter((s) => s.kind === 'start-unit').every((s) => s.kind === 'start-unit' && s.created),
    );
    assert.equal(kinds.filter((k) => k === 'run-migration').length, 1);
    // The migration's unit is removed once the window is over.
    const job = p.steps.find((s) => s.kind === 'create-job')!;
    const removal = p.steps.findIndex(
      (s) => s.kind === 'remove-unit' && s.unit === (job.kind === 'create-job' ? job.job : ''),
    );
    assert.ok(removal > kinds.indexOf('leave-maintenance'));
    assert.ok(kinds.lastIndexOf('stop-unit') < kinds.indexOf('run-migration'));
    assert.ok(kinds.indexOf('run-migration') < kinds.indexOf('start-unit'));
    assert.ok(kinds.indexOf('route-edge') < kinds.indexOf('leave-maintenance'));
  });

  it('nothing to do when the release runs and the edge routes to it', () => {
    const w = world(1);
    const f = facts(
      w,
      1,
      { kind: 'migrate', versions: [], fresh: false, job: 'j', image: 'i' },
      '1.0.0',
      OLD,
    );
    // The facts' pairs use the old hash for OLD: the running units are the release's.
    assert.equal(planRelease(f).flow, 'up-to-date');
  });

  it('a unit of the release that crashed is replaced; the others stay', () => {
    const w = world(2);
    w.units.get(name('odoo', OLD, 2))!.running = false;
    const p = planRelease(
      facts(w, 2, { kind: 'migrate', versions: [], fresh: false, job: 'j', image: 'i' }, '1.0.0', OLD),
    );
    const starts = p.steps
      .filter((s) => s.kind === 'start-unit')
      .map((s) => (s.kind === 'start-unit' ? s.unit : ''));
    assert.deepEqual(starts, [name('odoo', OLD, 2), name('nginx', OLD, 2)]);
    assert.ok(p.steps.some((s) => s.id === `remove-unit:${name('odoo', OLD, 2)}`));
  });
});

describe('settle(): every prod flow cut after every step', () => {
  for (const f of flows) {
    it(f.name, () => {
      const w0 = f.before();
      const plan = planRelease(facts(w0, f.replicas, f.database(w0), f.version, f.release));
      checkOrder(plan.steps);
      assert.notEqual(plan.steps.length, 0);
      const oldRelease = f.target.release === NEW ? OLD : NEW;
      // Cut k: the first k steps ended ok; with `mid`, step k+1 began and was killed.
      for (let k = 0; k <= plan.steps.length; k++) {
        for (const mid of [false, true]) {
          if (mid && k === plan.steps.length) continue;
          const w = f.before();
          const ctx: { restorePoint?: string } = {};
          const recorded: RecordedStep[] = [];
          for (const s of plan.steps.slice(0, k)) {
            apply(w, s, plan, ctx);
            recorded.push({ id: s.id, outcome: 'ok' });
          }
          const killed = plan.steps[k];
          if (mid && killed) {
            // Half done: a migration leaves a broken schema; a start leaves a unit; an edge switch is done.
            if (killed.kind === 'run-migration') w.db = 'broken';
            else if (killed.kind !== 'take-restore-point' && killed.kind !== 'restore-database')
              apply(w, killed, plan, ctx);
            else if (killed.kind === 'restore-database') w.db = 'broken';
            recorded.push({ id: killed.id, outcome: 'interrupted' });
          }
          const at = `${f.name}, cut after ${k}${mid ? ` inside ${killed?.id}` : ''}`;
          const s = settle({
            plan,
            recorded,
            observed: [...w.units.keys()].map((n) => ({ name: n })),
            restorePoint: ctx.restorePoint,
          });
          checkOrder(s.steps);
          for (const step of s.steps) apply(w, step, plan, ctx);
          if (k === 0 && !mid) {
            assert.equal(s.action, 'nothing', at);
            continue;
          }
          if (w.edge.length === 0 && f.name.startsWith('first deploy')) {
            // Nothing served before: undone is nothing serving, no unit left (a
            // migration cut short on a fresh database runs again with the next deploy).
            assert.notEqual(s.action, 'complete', at);
            assert.deepEqual([...w.units.keys()], [], at);
            assert.equal(w.maintenance, false);
            continue;
          }
          const { release } = serves(w);
          if (s.action === 'complete' || (s.action === 'nothing' && k === plan.steps.length)) {
            assert.equal(release, f.target.release, at);
            assert.equal(w.db, f.target.db, at);
            assert.equal(w.version, f.target.version, at);
          } else {
            assert.notEqual(s.action, 'complete', at);
            assert.equal(release, oldRelease, at);
            // The database is what the old release ran on: restored if it was touched.
            const before = f.before().db;
            assert.equal(w.db, before, at);
          }
        }
      }
    });
  }
});
