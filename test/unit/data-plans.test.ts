// The plans of `odp restore`, `odp db reset` and `odp db clone` (plan/data-plans.ts):
// their steps' kinds, ids, order and waits for the main cases, and how the shared
// executor (ops/run-data-plan.ts) runs them: the units stopped are started again
// after a failure, except once a clone's copy was begun.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Engine } from '../../src/engines/engine.js';
import { runDataPlan } from '../../src/ops/run-data-plan.js';
import {
  formatDataPlan,
  replacedName,
  scratchName,
  type DataPlan,
  type DataStep,
} from '../../src/plan/data-ops.js';
import {
  planClone,
  planReset,
  planRestore,
  type CloneFacts,
  type RestoreFacts,
} from '../../src/plan/data-plans.js';
import type { Progress } from '../../src/progress.js';

const PROD = 'acme-odoo-prod';
const INT = 'acme-odoo-integration';
const units = (stack: string, replicas: number) =>
  Array.from({ length: replicas }, (_, i) => [
    { name: `${stack}-odoo-1-0-0-ab12-${i + 1}`, service: 'odoo' },
    { name: `${stack}-nginx-1-0-0-ab12-${i + 1}`, service: 'nginx' },
  ]).flat();

function restoreFacts(o: Partial<RestoreFacts> & { objects?: number } = {}): RestoreFacts {
  return {
    project: 'acme',
    instance: 'prod',
    target: { server: 'postgres-prod', database: 'acme' },
    role: 'acme',
    exists: true,
    running: units(PROD, 1),
    backup: {
      id: '20260223T101502Z',
      bytes: 1234,
      objects: o.objects ?? 3,
      attachments: 'p-backups/acme/prod/20260223T101502Z/attachments/',
    },
    bucket: PROD,
    ...o,
  };
}

function cloneFacts(o: Partial<CloneFacts> = {}): CloneFacts {
  return {
    project: 'acme',
    instance: 'integration',
    target: { server: 'postgres-integration', database: 'acme_integration' },
    role: 'acme_integration',
    exists: true,
    running: units(INT, 1),
    source: { server: 'postgres-prod', database: 'acme', bucket: PROD },
    bucket: INT,
    domain: 'integration.acme.example.ch',
    ...o,
  };
}

/** `kind:subject <- after` per step: the plan's shape at a glance. */
const shape = (p: DataPlan) => p.steps.map((s) => `${s.id} <- ${s.after.join(', ')}`);

describe('planRestore', () => {
  it('stops the sidecar then Odoo, copies the attachments back, restores beside, swaps, drops, starts again', () => {
    const p = planRestore(restoreFacts());
    const scratch = scratchName('acme');
    const replaced = replacedName('acme', '20260223T101502Z');
    assert.deepEqual(shape(p), [
      `stop-unit:${PROD}-nginx-1-0-0-ab12-1 <- `,
      `stop-unit:${PROD}-odoo-1-0-0-ab12-1 <- stop-unit:${PROD}-nginx-1-0-0-ab12-1`,
      `copy-attachments:${PROD} <- stop-unit:${PROD}-odoo-1-0-0-ab12-1`,
      `create-database:${scratch} <- copy-attachments:${PROD}`,
      `restore-dump:20260223T101502Z <- create-database:${scratch}`,
      `swap-database:acme <- restore-dump:20260223T101502Z`,
      `drop-database:${replaced} <- swap-database:acme`,
      `start-unit:${PROD}-odoo-1-0-0-ab12-1 <- drop-database:${replaced}`,
      `start-unit:${PROD}-nginx-1-0-0-ab12-1 <- start-unit:${PROD}-odoo-1-0-0-ab12-1`,
    ]);
    assert.equal(p.operation, 'restore');
    assert.equal(p.keepStoppedFrom, null, 'the units start again whatever happens');
    const swap = p.steps.find((s) => s.kind === 'swap-database');
    assert.deepEqual(swap && { ...swap, after: [], cause: '' }, {
      id: 'swap-database:acme',
      kind: 'swap-database',
      server: 'postgres-prod',
      database: 'acme',
      scratch,
      replaced,
      after: [],
      cause: '',
    });
    const drop = p.steps.find((s) => s.kind === 'drop-database');
    assert.equal(drop?.kind === 'drop-database' && drop.keepOnFailure, true);
    const dump = p.steps.find((s) => s.kind === 'restore-dump');
    assert.equal(dump?.kind === 'restore-dump' && dump.database, scratch, 'the dump goes to the scratch');
  });

  it('a backup without attachments, nothing running, no database yet: restore and rename only', () => {
    const p = planRestore(restoreFacts({ objects: 0, running: [], exists: false }));
    assert.deepEqual(
      p.steps.map((s) => s.kind),
      ['create-database', 'restore-dump', 'swap-database'],
    );
    const swap = p.steps.at(-1);
    assert.equal(swap?.kind === 'swap-database' && swap.replaced, null);
  });

  it('every replica: sidecars first, then the Odoo units; started again in the reverse order', () => {
    const p = planRestore(restoreFacts({ running: units(PROD, 2).reverse() }));
    const order = (kind: string) =>
      p.steps.filter((s) => s.kind === kind).map((s) => s.id.replace(/^.*-(odoo|nginx)-.*-(\d)$/, '$1-$2'));
    assert.deepEqual(order('stop-unit'), ['nginx-1', 'nginx-2', 'odoo-1', 'odoo-2']);
    assert.deepEqual(order('start-unit'), ['odoo-2', 'odoo-1', 'nginx-2', 'nginx-1']);
  });

  it('names its scratch and replaced databases the same way each time, valid PostgreSQL names', () => {
    const long = 'a'.repeat(63);
    for (const n of [scratchName(long), replacedName(long, '20260223T101502Z')]) {
      assert.ok(n.length <= 63, n);
      assert.match(n, /^odp_[a-z0-9_]+$/);
    }
    assert.equal(scratchName('acme'), scratchName('acme'));
    assert.notEqual(scratchName('acme'), scratchName('acme_integration'));
    assert.notEqual(replacedName('acme', '20260223T101502Z'), replacedName('acme', '20260224T101502Z'));
  });

  it('reads as one line per step, with its cause and what it waits for', () => {
    const text = formatDataPlan(planRestore(restoreFacts()));
    const lines = text.split('\n');
    assert.equal(lines[0], 'acme/prod: restore of acme on postgres-prod from backup 20260223T101502Z');
    assert.match(lines[1]!, /^ {2}#1 stop-unit acme-odoo-prod-nginx-1-0-0-ab12-1: a sidecar/);
    assert.match(
      lines[5]!,
      /^ {2}#5 restore-dump backup 20260223T101502Z into odp_restore_\w+ on postgres-prod, as acme: .* after #4$/,
    );
    assert.equal(lines.length, 10);
  });
});

describe('planReset', () => {
  it('stops the units, drops and creates the database, starts them again', () => {
    const p = planReset({ ...cloneFacts(), running: units(INT, 1) });
    assert.deepEqual(shape(p), [
      `stop-unit:${INT}-nginx-1-0-0-ab12-1 <- `,
      `stop-unit:${INT}-odoo-1-0-0-ab12-1 <- stop-unit:${INT}-nginx-1-0-0-ab12-1`,
      `drop-database:acme_integration <- stop-unit:${INT}-odoo-1-0-0-ab12-1`,
      'create-database:acme_integration <- drop-database:acme_integration',
      `start-unit:${INT}-odoo-1-0-0-ab12-1 <- create-database:acme_integration`,
      `start-unit:${INT}-nginx-1-0-0-ab12-1 <- start-unit:${INT}-odoo-1-0-0-ab12-1`,
    ]);
    assert.equal(p.keepStoppedFrom, null);
    assert.equal(p.source, null);
  });

  it('nothing running and no database: one step', () => {
    const p = planReset({ ...cloneFacts(), running: [], exists: false });
    assert.deepEqual(shape(p), ['create-database:acme_integration <- ']);
    const create = p.steps[0];
    assert.equal(create?.kind === 'create-database' && create.owner, 'acme_integration');
  });
});

describe('planClone', () => {
  it('prod into integration: recreate, copy, neutralize, verify, then start; unfinished from the drop on', () => {
    const p = planClone(cloneFacts());
    assert.deepEqual(
      p.steps.map((s) => s.id),
      [
        `stop-unit:${INT}-nginx-1-0-0-ab12-1`,
        `stop-unit:${INT}-odoo-1-0-0-ab12-1`,
        'drop-database:acme_integration',
        'create-database:acme_integration',
        'copy-database:acme_integration',
        `copy-attachments:${INT}`,
        'neutralize:acme_integration',
        'verify-neutralized:acme_integration',
        `start-unit:${INT}-odoo-1-0-0-ab12-1`,
        `start-unit:${INT}-nginx-1-0-0-ab12-1`,
      ],
    );
    assert.equal(p.keepStoppedFrom, 'drop-database:acme_integration');
    assert.equal(p.source, 'acme on postgres-prod');
    const copy = p.steps.find((s) => s.kind === 'copy-database');
    assert.deepEqual(copy?.kind === 'copy-database' && [copy.from, copy.to, copy.role], [
      { server: 'postgres-prod', database: 'acme' },
      { server: 'postgres-integration', database: 'acme_integration' },
      'acme_integration',
    ]);
    const files = p.steps.find((s) => s.kind === 'copy-attachments');
    assert.equal(files?.kind === 'copy-attachments' && files.missingOnly, false);
    // Each step waits for the one before: one thing at a time, as the gate needs.
    p.steps.forEach((s, i) => assert.deepEqual(s.after, i ? [p.steps[i - 1]!.id] : []));
  });

  it('no integration database yet, nothing running: unfinished from the create on', () => {
    const p = planClone(cloneFacts({ exists: false, running: [] }));
    assert.equal(p.steps[0]?.id, 'create-database:acme_integration');
    assert.equal(p.keepStoppedFrom, 'create-database:acme_integration');
    assert.ok(!p.steps.some((s) => s.kind === 'start-unit' || s.kind === 'stop-unit'));
  });
});

describe('runDataPlan', () => {
  /** An engine that records stops and starts, failing those named. */
  function engine(fail: { stop?: string; start?: string } = {}) {
    const calls: string[] = [];
    const e = {
      stop: (u: string) => {
        calls.push(`stop ${u}`);
        return u === fail.stop ? Promise.reject(new Error('cannot stop')) : Promise.resolve();
      },
      start: (u: string) => {
        calls.push(`start ${u}`);
        return u === fail.start ? Promise.reject(new Error('cannot start')) : Promise.resolve();
      },
    };
    return { engine: e as unknown as Engine, calls };
  }
  /** The steps as the history records them: kind and id. */
  function history() {
    const steps: { kind: string; id: string }[] = [];
    const progress: Progress = {
      start: (_k, _t, s) => s && steps.push(s),
      done: () => undefined,
      fail: () => undefined,
      note: () => undefined,
    };
    return { progress, steps };
  }
  const failing = (kind: DataStep['kind']) => (s: DataStep) =>
    s.kind === kind ? Promise.reject(new Error(`${kind} broke`)) : Promise.resolve();
  const twoReplicas = units(PROD, 2);

  it('runs every step of the plan, recorded by kind and id, in order', async () => {
    const p = planRestore(restoreFacts({ running: twoReplicas }));
    const { engine: e } = engine();
    const h = history();
    const r = await runDataPlan(p, () => Promise.resolve(), { engine: e, progress: h.progress });
    assert.equal(r.failure, undefined);
    assert.deepEqual(
      h.steps,
      p.steps.map((s) => ({ kind: s.kind, id: s.id })),
    );
    assert.equal(r.started.length, 4);
  });

  it('a restore that fails starts the stopped units again, and only them', async () => {
    const p = planRestore(restoreFacts());
    const { engine: e, calls } = engine();
    const r = await runDataPlan(p, failing('restore-dump'), { engine: e, progress: history().progress });
    assert.equal(r.failure?.step.kind, 'restore-dump');
    assert.deepEqual(calls, [
      `stop ${PROD}-nginx-1-0-0-ab12-1`,
      `stop ${PROD}-odoo-1-0-0-ab12-1`,
      `start ${PROD}-odoo-1-0-0-ab12-1`,
      `start ${PROD}-nginx-1-0-0-ab12-1`,
    ]);
    assert.ok(!r.began.has('swap-database:acme'));
  });

  it('a unit that cannot be stopped: those stopped before start again, the rest is not touched', async () => {
    const p = planReset({ ...cloneFacts(), running: units(INT, 1) });
    const { engine: e, calls } = engine({ stop: `${INT}-odoo-1-0-0-ab12-1` });
    const r = await runDataPlan(p, () => assert.fail('no data step runs'), {
      engine: e,
      progress: history().progress,
    });
    assert.equal(r.failure?.step.kind, 'stop-unit');
    assert.deepEqual(r.started, [`${INT}-nginx-1-0-0-ab12-1`]);
    assert.equal(calls.at(-1), `start ${INT}-nginx-1-0-0-ab12-1`);
  });

  it('a unit that does not start keeps no other one stopped', async () => {
    const p = planRestore(restoreFacts({ running: twoReplicas }));
    const { engine: e } = engine({ start: `${PROD}-odoo-1-0-0-ab12-1` });
    const r = await runDataPlan(p, () => Promise.resolve(), { engine: e, progress: history().progress });
    assert.equal(r.failure, undefined);
    assert.equal(r.started.length, 3);
    assert.deepEqual(r.unstarted, [{ unit: `${PROD}-odoo-1-0-0-ab12-1`, error: 'cannot start' }]);
  });

  it('a clone that fails once integration lost its database leaves the units stopped', async () => {
    const p = planClone(cloneFacts());
    const { engine: e, calls } = engine();
    const r = await runDataPlan(p, failing('copy-database'), { engine: e, progress: history().progress });
    assert.equal(r.failure?.step.kind, 'copy-database');
    assert.deepEqual(r.started, []);
    assert.ok(calls.every((c) => c.startsWith('stop ')));
    assert.deepEqual(r.stopped, [`${INT}-nginx-1-0-0-ab12-1`, `${INT}-odoo-1-0-0-ab12-1`]);
  });

  it("a clone that fails while stopping starts again what it stopped: integration's data is whole", async () => {
    const p = planClone(cloneFacts());
    const { engine: e } = engine({ stop: `${INT}-odoo-1-0-0-ab12-1` });
    const r = await runDataPlan(p, () => Promise.resolve(), { engine: e, progress: history().progress });
    assert.deepEqual(r.started, [`${INT}-nginx-1-0-0-ab12-1`]);
  });

  it('ids are prefixed in the history when the restore is a step of another operation', async () => {
    const p = planRestore(restoreFacts({ running: [] }));
    const h = history();
    await runDataPlan(p, () => Promise.resolve(), {
      engine: engine().engine,
      progress: h.progress,
      prefix: 'restore-database:20260223T101502Z/',
    });
    assert.ok(h.steps.every((s) => s.id.startsWith('restore-database:20260223T101502Z/')));
  });
});
