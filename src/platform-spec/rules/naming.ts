// Names that leak or collide: database names that reveal the customer, session
// prefixes and buckets that break odoo-cloud-platform's checks.
import { effectiveInstances } from './effective.js';
import type { ProjectInput, Rule, Violation } from './types.js';

/** Lower-case ASCII letters and digits only: "Zürich-Bäckerei" → "zurichbackerei". */
export function squash(s: string): string {
  return words(s).join('');
}

/** Words of a name or a database name: split at separators and where letters meet digits. */
export function words(s: string): string[] {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])/)
    .filter(Boolean);
}

/**
 * Words that name no one: legal forms, fillers, and what every database name may
 * contain anyway. "ODB Services" is revealed by `odb`, not by `services`.
 */
const GENERIC = new Set([
  ...['sa', 'ag', 'gmbh', 'sarl', 'sas', 'ltd', 'llc', 'inc', 'plc', 'bv', 'nv', 'kg', 'co', 'corp'],
  ...['company', 'group', 'holding', 'services', 'service', 'the', 'and', 'of', 'de', 'des', 'et'],
  ...['odoo', 'db', 'prod', 'test', 'integration'],
]);

/**
 * What a database name must not contain as a word: the customer's and the
 * project's full names (squashed), and each distinctive word of them. A word is
 * distinctive when it is not generic, has 3+ characters and is not a number
 * (random names end in digits; "Studio 54" is still caught as `studio54`).
 */
export function forbiddenTokens(client: string, project: string): string[] {
  const tokens = new Set<string>();
  for (const name of [client, project]) {
    const all = words(name);
    const named = all.filter((w) => !GENERIC.has(w));
    for (const full of [all.join(''), named.join('')]) if (full.length >= 3) tokens.add(full);
    for (const w of named) if (w.length >= 3 && !/^\d+$/.test(w)) tokens.add(w);
  }
  return [...tokens];
}

/** The longest forbidden token `name` contains as a run of whole words, if any. */
export function customerWordIn(
  name: string,
  tokens: readonly string[] | ReadonlySet<string>,
): string | undefined {
  const forbidden = tokens instanceof Set ? tokens : new Set(tokens);
  const w = words(name);
  let hit: string | undefined;
  for (let i = 0; i < w.length; i++) {
    let run = '';
    for (let j = i; j < w.length; j++) {
      run += w[j];
      if (forbidden.has(run) && run.length > (hit?.length ?? 0)) hit = run;
    }
  }
  return hit;
}

export const databaseNamesHideCustomer: Rule = {
  id: 'db-name-hides-customer',
  description:
    "No database name or role on the shared cluster (integration, prod) contains the customer's or the project's name as a word (customers can list databases).",
  check({ platform, projects }) {
    const out: Violation[] = [];
    // Once per project, not per instance.
    const tokensOf = new Map<ProjectInput, Set<string>>();
    for (const e of effectiveInstances(platform, projects)) {
      // A test instance's database lives in its own container, not on the cluster.
      if (e.name === 'test') continue;
      let tokens = tokensOf.get(e.project);
      if (!tokens) {
        tokens = new Set(forbiddenTokens(e.project.spec.client, e.project.spec.name));
        tokensOf.set(e.project, tokens);
      }
      const fields: [string, string][] = [
        ['database', e.resolved.database],
        ['dbUser', e.resolved.dbUser],
      ];
      let last: [string, string | undefined] | undefined; // dbUser is usually the database's name
      for (const [field, value] of fields) {
        const hit = last?.[0] === value ? last[1] : customerWordIn(value, tokens);
        last = [value, hit];
        if (!hit) continue;
        const path = ['instances', e.name, field];
        // An integration name derived from prod's points at prod's line.
        const declared = e.project.spec.instances[e.name]?.[field as 'database'];
        const at = declared ? path : ['instances', 'prod', 'database'];
        out.push({
          rule: this.id,
          message: `${field} "${value}" contains "${hit}", which names the customer or project (customers can list the cluster's databases)`,
          path: at.join('.'),
          location: e.project.locate(at),
        });
      }
    }
    return out;
  },
};

const prefixShape = /^[a-z0-9-]+-odoo-[a-z0-9-]+$/;

export const redisPrefixShape: Rule = {
  id: 'redis-prefix-shape',
  description:
    'The session prefix matches ^[a-z0-9-]+-odoo-[a-z0-9-]+$ (odoo-cloud-platform refuses to start otherwise).',
  check({ platform, projects }) {
    return effectiveInstances(platform, projects)
      .filter((e) => !prefixShape.test(e.env.get('ODOO_SESSION_REDIS_PREFIX') ?? ''))
      .map((e) => ({
        rule: this.id,
        message: `Redis prefix "${e.env.get('ODOO_SESSION_REDIS_PREFIX') ?? ''}" does not match ${prefixShape.source}`,
        path: `instances.${e.name}`,
        location: e.project.locate(['instances', e.name]),
      }));
  },
};

export const prodBucketOnlyForProd: Rule = {
  id: 'prod-bucket-only-prod',
  description:
    'A bucket ending in -odoo-prod is used by prod and nothing else; prod uses one; no two instances share a bucket.',
  check({ platform, projects }) {
    const out: Violation[] = [];
    const seen = new Map<string, string>();
    for (const e of effectiveInstances(platform, projects)) {
      const bucket = e.env.get('AWS_BUCKETNAME');
      if (bucket === undefined) continue;
      const where = () => ({
        path: `instances.${e.name}`,
        location: e.project.locate(['instances', e.name]),
      });
      const isProdBucket = /-odoo-prod$/.test(bucket);
      if (e.name === 'prod' && !isProdBucket) {
        out.push({ rule: this.id, message: `prod bucket "${bucket}" must end in -odoo-prod`, ...where() });
      }
      if (e.name !== 'prod' && isProdBucket) {
        out.push({ rule: this.id, message: `${e.name} uses "${bucket}", a production bucket`, ...where() });
      }
      const owner = `${e.project.spec.name}/${e.name}`;
      const other = bucket ? seen.get(bucket) : undefined;
      if (other)
        out.push({ rule: this.id, message: `bucket "${bucket}" is also used by ${other}`, ...where() });
      else if (bucket) seen.set(bucket, owner);
    }
    return out;
  },
};

export const databasesUnique: Rule = {
  id: 'db-name-unique',
  description: 'No two instances share a database on the same server.',
  check({ platform, projects }) {
    const out: Violation[] = [];
    const seen = new Map<string, string>();
    for (const e of effectiveInstances(platform, projects)) {
      if (e.name === 'test') continue; // each test instance has its own server
      const key = `${e.name}:${e.resolved.database}`;
      const owner = `${e.project.spec.name}/${e.name}`;
      const other = seen.get(key);
      if (other) {
        out.push({
          rule: this.id,
          message: `database "${e.resolved.database}" is also used by ${other}`,
          path: `instances.${e.name}.database`,
          location: e.project.locate(['instances', e.name, 'database']),
        });
      } else seen.set(key, owner);
    }
    return out;
  },
};
