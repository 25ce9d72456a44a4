// marabunta's migration file, as far as a deploy needs it: which versions the
// image's migration.yml declares, in marabunta's order (`setup` first, `x.y.z`
// read as `x.0.0.y.z`), and which of them the database has not done yet. Pure.
import { parse } from 'yaml';
import { OdpError } from '../../errors.js';
import { compareVersions, isMarabuntaVersion } from '../../versions.js';

export { compareVersions, versionKey } from '../../versions.js';

export interface MigrationVersion {
  number: string;
  /** Nothing to run (no operations, no addons): marabunta only records it. */
  noop: boolean;
}

/** One row of `marabunta_version`. */
export interface DoneVersion {
  number: string;
  dateDone: Date | string | null;
}

export interface PendingMigrations {
  /** No `marabunta_version` table: the database was never migrated. */
  fresh: boolean;
  /** Versions of the file the database has not done, in marabunta's order. */
  pending: string[];
  /** Versions started and never finished (`date_done IS NULL`): a failed migration. */
  unfinished: string[];
}

/** A migration version marabunta would not read: the image's file is refused. */
function checkVersion(number: string): void {
  if (!isMarabuntaVersion(number)) {
    throw new OdpError('SPEC_INVALID', `migration version "${number}" is not valid`, {
      hint: 'marabunta accepts setup, X.Y.Z or A.B.X.Y.Z.',
    });
  }
}

type Data = Record<string, unknown>;
const isMap = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

function partHasWork(part: unknown): boolean {
  if (!isMap(part)) return false;
  const ops = isMap(part.operations) ? part.operations : {};
  const addons = isMap(part.addons) ? part.addons : {};
  return nonEmpty(ops.pre) || nonEmpty(ops.post) || nonEmpty(addons.upgrade);
}

/** The versions a migration.yml declares, sorted as marabunta runs them. */
export function parseMigrationVersions(text: string): MigrationVersion[] {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true });
  } catch (e) {
    throw new OdpError('DEPLOY_FAILED', `the image's migration.yml does not parse: ${String(e)}`);
  }
  const migration = isMap(doc) ? doc.migration : undefined;
  const versions = isMap(migration) ? migration.versions : undefined;
  if (!Array.isArray(versions)) {
    throw new OdpError('DEPLOY_FAILED', "the image's migration.yml has no migration.versions list");
  }
  const out = versions.map((v, i): MigrationVersion => {
    if (!isMap(v) || (typeof v.version !== 'string' && typeof v.version !== 'number')) {
      throw new OdpError('DEPLOY_FAILED', `migration.yml: versions[${i}] has no version`);
    }
    const number = String(v.version);
    checkVersion(number);
    const modes = isMap(v.modes) ? Object.values(v.modes) : [];
    return { number, noop: ![v, ...modes].some(partHasWork) };
  });
  const seen = new Set<string>();
  for (const v of out) {
    if (seen.has(v.number)) throw new OdpError('DEPLOY_FAILED', `migration.yml: version ${v.number} twice`);
    seen.add(v.number);
  }
  return out.sort((a, b) => compareVersions(a.number, b.number));
}

/**
 * What a migration would run: every version of the file not done in the
 * database (`rows` undefined: no marabunta_version table, a fresh database).
 */
export function pendingMigrations(
  file: readonly MigrationVersion[],
  rows: readonly DoneVersion[] | undefined,
): PendingMigrations {
  const done = new Set((rows ?? []).filter((r) => r.dateDone !== null).map((r) => r.number));
  const unfinished = (rows ?? [])
    .filter((r) => r.dateDone === null)
    .map((r) => r.number)
    .sort(compareVersions);
  return {
    fresh: rows === undefined,
    pending: file.filter((v) => !done.has(v.number)).map((v) => v.number),
    unfinished,
  };
}
