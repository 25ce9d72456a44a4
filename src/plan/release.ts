// A pinned instance (integration, prod) changing release: deploy, upgrade with
// or without a migration, rollback with or without a restore. Facts in (what
// the spec wants, what runs, what the database needs), a plan out: typed steps,
// each with its cause, the data it needs and the steps it waits for. The same
// object is printed by `--dry-run`, executed by the deploy and recorded in the
// history step by step, which is what `settle()` (settle.ts) reads when an
// operation was interrupted. Pure (docs/decisions/0058).

import {
  removeStep,
  unitStep,
  waitStep,
  type ReleasePlan,
  type ReleaseStep,
  type Role,
} from './release-steps.js';

export interface DesiredUnit {
  name: string;
  image: string;
  configHash: string;
}

export interface ObservedRef {
  name: string;
  service: string;
  replica: number;
  release: string;
  state: string;
  health: string;
  configHash: string;
}

export type DatabaseChange =
  | { kind: 'keep' }
  | { kind: 'migrate'; versions: string[]; fresh: boolean; job: string; image: string }
  | { kind: 'restore'; backup: string };

export interface ReleaseFacts {
  project: string;
  instance: string;
  stack: string;
  network: string;
  networkExists: boolean;
  domain: string;
  version: string;
  release: string;
  pairs: { replica: number; odoo: DesiredUnit; nginx: DesiredUnit }[];
  /** The instance's odoo and nginx units (and a migration job left over), any release. */
  observed: ObservedRef[];
  /** The units the edge routes the domain to now, as recorded; undefined: never recorded. */
  serving: string[] | undefined;
  database: DatabaseChange;
  drainSeconds: number;
}

/**
 * The release's id, part of its units' names: the version (dots as dashes, a
 * DNS name's rules) and the start of the odoo unit's configuration hash, so a
 * redeploy of the same version with another configuration or image gets new
 * units beside the old ones.
 */
export function releaseId(version: string, odooConfigHash: string): string {
  return `${version.replace(/[^A-Za-z0-9]+/g, '-')}-${odooConfigHash.slice(0, 4)}`;
}

const CREATED = 'made before the window, started in it';

const isUnit = (o: ObservedRef) => o.service === 'odoo' || o.service === 'nginx';

/** Whether a desired unit runs as wanted already. */
function fine(d: DesiredUnit, o: ObservedRef | undefined): boolean {
  return !!o && o.configHash === d.configHash && o.state === 'running' && o.health !== 'unhealthy';
}

export function planRelease(f: ReleaseFacts): ReleasePlan {
  const at = (replica: number, role: Role) => ({ role, replica, release: f.release });
  const steps: ReleaseStep[] = [];
  const add = (s: ReleaseStep): string => {
    steps.push(s);
    return s.id;
  };
  const seen = new Map(f.observed.map((o) => [o.name, o]));
  const wanted = new Set(f.pairs.flatMap((p) => [p.odoo.name, p.nginx.name]));
  const old = f.observed.filter((o) => isUnit(o) && !wanted.has(o.name));
  const oldRunning = old.filter((o) => o.state === 'running' || o.state === 'restarting');
  const db = f.database;
  const dbChange = db.kind === 'restore' || (db.kind === 'migrate' && db.versions.length > 0);
  // A fresh database that nothing serves yet has nothing to lose: no window.
  const live =
    dbChange && (db.kind === 'restore' || !(db.kind === 'migrate' && db.fresh) || oldRunning.length > 0);
  const servers = f.pairs.map((p) => p.odoo.name);
  const routed = sameSet(f.serving ?? [], servers);
  const changed = f.pairs.filter(
    (p) => live || !fine(p.odoo, seen.get(p.odoo.name)) || !fine(p.nginx, seen.get(p.nginx.name)),
  );
  const base = { project: f.project, instance: f.instance, stack: f.stack, domain: f.domain };
  const head = { ...base, version: f.version, release: f.release };
  if (!dbChange && changed.length === 0 && old.length === 0 && routed) {
    return { ...head, flow: 'up-to-date', steps: [] };
  }

  const restorePoint = live
    ? add({
        id: 'take-restore-point:database',
        kind: 'take-restore-point',
        cause: 'the database changes: a backup first is the restore point',
        after: [],
      })
    : undefined;
  const network = f.networkExists
    ? undefined
    : add({
        id: `create-network:${f.network}`,
        kind: 'create-network',
        network: f.network,
        cause: 'not found',
        after: [],
      });
  // A migration job an interrupted deploy left behind (it may still be running).
  // One under this operation's job name is replaced by create-job itself.
  const jobName = db.kind === 'migrate' && db.versions.length > 0 ? db.job : undefined;
  const jobs = f.observed
    .filter((o) => o.service === 'migrate' && o.name !== jobName)
    .map((o) => add(removeStep(o.name, 'left by an earlier attempt', [])));
  const ready = [restorePoint, network, ...jobs].filter((x): x is string => !!x);
  // Before a window, everything that can be made without touching what serves
  // is made: the window then only starts it (docs/decisions/0058).
  const prepared: string[] = [];
  const created = new Set<string>();
  if (live) {
    const base = [network, ...jobs].filter((x): x is string => !!x);
    for (const p of f.pairs) {
      if (seen.has(p.odoo.name) || seen.has(p.nginx.name)) continue;
      const odoo = add(unitStep('create-unit', p.odoo, at(p.replica, 'odoo'), base, CREATED));
      prepared.push(add(unitStep('create-unit', p.nginx, at(p.replica, 'nginx'), [odoo], CREATED)));
      created.add(p.odoo.name).add(p.nginx.name);
    }
  }
  const migrating = db.kind === 'migrate' && db.versions.length > 0;
  if (migrating) {
    prepared.push(
      add({
        id: `create-job:${db.job}`,
        kind: 'create-job',
        job: db.job,
        image: db.image,
        cause: 'the migration starts at once when its turn comes',
        after: [network, ...jobs].filter((x): x is string => !!x),
      }),
    );
  }
  let gate = [...ready, ...prepared];
  if (live) {
    const on = add({
      id: `enter-maintenance:${f.domain}`,
      kind: 'enter-maintenance',
      domain: f.domain,
      cause: 'old code must not serve the new schema (nor new code the old)',
      after: [...ready, ...prepared],
    });
    // Every old replica at once (their crons with them): the window is as short as the slowest.
    const stopped = oldRunning.map((o) =>
      add({
        id: `stop-unit:${o.name}`,
        kind: 'stop-unit',
        unit: o.name,
        role: o.service as Role,
        cause: 'kept aside, stopped, until the new release serves',
        after: [on],
      }),
    );
    gate = [on, ...stopped];
  }
  // Units under the release's names that are there but not as wanted go first.
  for (const p of changed) {
    for (const u of [p.nginx, p.odoo]) {
      if (!seen.has(u.name)) continue;
      const why =
        live && fine(u, seen.get(u.name)) ? 'started again on the changed database' : 'not running as wanted';
      gate = [...gate, add(removeStep(u.name, why, gate))];
    }
  }
  if (migrating) {
    gate = [
      add({
        id: `run-migration:${db.job}`,
        kind: 'run-migration',
        job: db.job,
        image: db.image,
        versions: db.versions,
        cause: `pending in the database: ${db.versions.join(', ')}`,
        after: gate,
      }),
    ];
  } else if (db.kind === 'restore') {
    gate = [
      add({
        id: `restore-database:${db.backup}`,
        kind: 'restore-database',
        backup: db.backup,
        cause: `the rolled-back release ran on the database of backup ${db.backup}`,
        after: gate,
      }),
    ];
  }
  const waits: string[] = [];
  for (const p of changed) {
    const made = created.has(p.odoo.name);
    const startOdoo = add(
      unitStep('start-unit', p.odoo, at(p.replica, 'odoo'), gate, 'the release runs here', made),
    );
    const startNginx = add(
      unitStep(
        'start-unit',
        p.nginx,
        at(p.replica, 'nginx'),
        [startOdoo],
        `the sidecar of ${p.odoo.name}`,
        made,
      ),
    );
    const waitOdoo = add(waitStep(p.odoo.name, 'odoo', [startOdoo]));
    waits.push(waitOdoo, add(waitStep(p.nginx.name, 'nginx', [startNginx, waitOdoo])));
  }
  const route =
    changed.length > 0 || !routed || live
      ? add({
          id: `route-edge:${f.domain}`,
          kind: 'route-edge',
          domain: f.domain,
          servers,
          previous: f.serving ?? oldRunning.filter((o) => o.service === 'odoo').map((o) => o.name),
          cause: routed ? 'the new units answer under new names' : 'the edge routes to other units',
          after: [...gate, ...waits],
        })
      : undefined;
  let tail = route ? [route] : [...gate, ...waits];
  if (live) {
    tail = [
      add({
        id: `leave-maintenance:${f.domain}`,
        kind: 'leave-maintenance',
        domain: f.domain,
        cause: 'the new release serves',
        after: tail,
      }),
    ];
  } else if (oldRunning.length > 0) {
    tail = [
      add({
        id: 'drain:old',
        kind: 'drain',
        seconds: f.drainSeconds,
        cause: 'requests in flight on the old units end; the edge forgets their connections',
        after: tail,
      }),
    ];
  }
  // The migration's unit stays until the window is over: removing it costs time.
  const jobRemoved = migrating ? [add(removeStep(db.job, 'the migration ended', tail))] : [];
  // Each old sidecar first (nginx ends the requests in flight, SIGQUIT), then the
  // odoo units, which a sidecar may still be forwarding to until it is gone.
  const retire = (o: ObservedRef, after: string[]) =>
    add(removeStep(o.name, `release ${o.release || 'before releases were named'} no longer serves`, after));
  const sidecars = old.filter((o) => o.service === 'nginx').map((o) => retire(o, tail));
  const removed = [
    ...sidecars,
    ...old.filter((o) => o.service !== 'nginx').map((o) => retire(o, sidecars.length ? sidecars : tail)),
  ];
  add({
    id: `record-version:${f.version}`,
    kind: 'record-version',
    version: f.version,
    cause: 'the spec says what runs',
    after: [...(removed.length ? removed : tail), ...jobRemoved],
  });
  return { ...head, flow: live ? 'maintenance' : 'rolling', steps };
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
