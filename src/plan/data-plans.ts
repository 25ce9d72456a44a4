// The plans of `odp restore`, `odp db reset` and `odp db clone`: facts in (the
// instance's database and role, whether the database exists, the units running
// now, the backup's manifest), a plan out (data-ops.ts). The facts are read
// before planning, and reading is all the dry run does; whatever a fact says
// cannot be done (no role, no backup, a damaged dump) fails there, before
// anything changes. Pure.
import {
  replacedName,
  scratchName,
  startUnits,
  stopUnits,
  type DataPlan,
  type DataStep,
  type DatabaseRef,
  type RunningUnit,
} from './data-ops.js';
import { StepList } from './step.js';

interface InstanceFacts {
  project: string;
  instance: string;
  /** The instance's database, on its tier's server. */
  target: DatabaseRef;
  /** The instance's role, which owns its database. */
  role: string;
  /** Whether the database exists now. */
  exists: boolean;
  running: RunningUnit[];
}

export interface RestoreFacts extends InstanceFacts {
  backup: {
    id: string;
    /** The dump's size, as the manifest says. */
    bytes: number;
    /** Attachment objects the backup holds, and where (bucket/prefix). */
    objects: number;
    attachments: string;
  };
  /** The instance's attachments bucket. */
  bucket: string;
}

export interface ResetFacts extends InstanceFacts {
  instance: 'integration';
}

export interface CloneFacts extends InstanceFacts {
  instance: 'integration';
  source: DatabaseRef & { bucket: string };
  bucket: string;
  /** The integration domain, the copy's base URL. */
  domain: string;
}

const head = (f: InstanceFacts) => ({ project: f.project, instance: f.instance, target: f.target });

/**
 * The dump goes into a scratch database beside the instance's, which serves
 * until the swap, one transaction; a failure before it leaves the database as
 * it was. Missing attachment objects are copied back first: they are
 * content-addressed, and an object the bucket lacks harms nothing.
 */
export function planRestore(f: RestoreFacts): DataPlan {
  const list = new StepList<DataStep>();
  const { server, database } = f.target;
  const stopped = stopUnits(list, f.running, `must not use ${database} while it is replaced`);
  if (f.backup.objects > 0) {
    list.add({
      id: `copy-attachments:${f.bucket}`,
      kind: 'copy-attachments',
      from: f.backup.attachments,
      to: f.bucket,
      objects: f.backup.objects,
      missingOnly: true,
      cause: 'the objects the bucket lacks come back; those it has are the same (content-addressed)',
    });
  }
  const scratch = scratchName(database);
  list.add({
    id: `create-database:${scratch}`,
    kind: 'create-database',
    server,
    database: scratch,
    owner: f.role,
    cause: `the dump is restored beside ${database}, which serves until the swap`,
  });
  list.add({
    id: `restore-dump:${f.backup.id}`,
    kind: 'restore-dump',
    server,
    database: scratch,
    backup: f.backup.id,
    bytes: f.backup.bytes,
    role: f.role,
    cause: "pg_restore of the backup's dump; its bytes must match the manifest's SHA-256",
  });
  const replaced = f.exists ? replacedName(database, f.backup.id) : null;
  list.add({
    id: `swap-database:${database}`,
    kind: 'swap-database',
    server,
    database,
    scratch,
    replaced,
    cause: 'its sessions are terminated, then both renamed in one transaction',
  });
  if (replaced) {
    list.add({
      id: `drop-database:${replaced}`,
      kind: 'drop-database',
      server,
      database: replaced,
      keepOnFailure: true,
      cause: `the replaced ${database}; kept under this name if it cannot be dropped`,
    });
  }
  startUnits(list, stopped, 'stopped for the restore: started again whatever happens');
  return {
    operation: 'restore',
    ...head(f),
    source: `backup ${f.backup.id}`,
    keepStoppedFrom: null,
    steps: list.steps,
  };
}

/** The instance's database dropped (its sessions terminated) and created empty, as `odp provision` makes it. */
function recreate(list: StepList<DataStep>, f: InstanceFacts): string {
  const drop = f.exists
    ? list.add({
        id: `drop-database:${f.target.database}`,
        kind: 'drop-database',
        ...f.target,
        keepOnFailure: false,
        cause: 'new sessions are refused and open ones terminated first; not dropped, it is opened again',
      })
    : undefined;
  const create = list.add({
    id: `create-database:${f.target.database}`,
    kind: 'create-database',
    ...f.target,
    owner: f.role,
    cause: f.exists ? 'empty, as odp provision makes it' : 'not found; empty, as odp provision makes it',
  });
  return drop ?? create;
}

/** Integration's database recreated empty: Odoo installs it at its next start. */
export function planReset(f: ResetFacts): DataPlan {
  const list = new StepList<DataStep>();
  const stopped = stopUnits(list, f.running, `must not use ${f.target.database} while it is recreated`);
  recreate(list, f);
  startUnits(list, stopped, 'stopped for the reset: started again whatever happens');
  return { operation: 'db-reset', ...head(f), source: null, keepStoppedFrom: null, steps: list.steps };
}

/**
 * prod's database and attachments copied into integration, then neutralized;
 * the units start only once no mail server, fetchmail or scheduled action is
 * active. prod is only read.
 */
export function planClone(f: CloneFacts): DataPlan {
  const list = new StepList<DataStep>();
  const { database } = f.target;
  const stopped = stopUnits(list, f.running, `must not use ${database} while it is replaced`);
  const first = recreate(list, f);
  list.add({
    id: `copy-database:${database}`,
    kind: 'copy-database',
    from: { server: f.source.server, database: f.source.database },
    to: f.target,
    role: f.role,
    cause: 'pg_dump streamed into pg_restore, never written to disk; one transaction',
  });
  list.add({
    id: `copy-attachments:${f.bucket}`,
    kind: 'copy-attachments',
    from: f.source.bucket,
    to: f.bucket,
    objects: null,
    missingOnly: false,
    cause: "prod's attachments, copied bucket to bucket",
  });
  list.add({
    id: `neutralize:${database}`,
    kind: 'neutralize',
    ...f.target,
    domain: f.domain,
    cause: `a copy of prod must not act as prod: mail and crons off, base URL https://${f.domain}`,
  });
  list.add({
    id: `verify-neutralized:${database}`,
    kind: 'verify-neutralized',
    ...f.target,
    cause: 'the gate: nothing starts while a mail server, fetchmail or scheduled action is active',
  });
  startUnits(list, stopped, 'once the copy is neutralized; a failure from the drop on leaves it stopped');
  return {
    operation: 'db-clone',
    ...head(f),
    source: `${f.source.database} on ${f.source.server}`,
    // From the drop on, the copy is unfinished: nothing may start on it.
    keepStoppedFrom: first,
    steps: list.steps,
  };
}
