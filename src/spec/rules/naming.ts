// Names that leak or collide: database names that reveal the customer, session
// prefixes and buckets that break odoo-cloud-platform's checks.
import { effectiveInstances } from './effective.js';
import type { Rule, Violation } from './types.js';

/** Lower-case with every separator removed: "Neo-Medical SA" → "neomedicalsa". */
export function squash(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The customer's full name, each of its words of 3+ letters, and the project's name. */
export function forbiddenTokens(client: string, project: string): string[] {
  const words = client
    .split(/[^A-Za-z0-9]+/)
    .map(squash)
    .filter((w) => w.length >= 3);
  return [...new Set([squash(client), ...words, squash(project)])].filter((t) => t.length >= 3);
}

export const databaseNamesHideCustomer: Rule = {
  id: 'db-name-hides-customer',
  description:
    "No database name or role contains the customer's or the project's name (customers can list databases).",
  check({ platform, projects }) {
    const out: Violation[] = [];
    for (const e of effectiveInstances(platform, projects)) {
      const tokens = forbiddenTokens(e.project.spec.client, e.project.spec.name);
      const fields: [string, string][] = [
        ['database', e.resolved.database],
        ['dbUser', e.resolved.dbUser],
      ];
      for (const [field, value] of fields) {
        const hit = tokens.find((t) => squash(value).includes(t));
        if (!hit) continue;
        const path = ['instances', e.name, field];
        // An integration name derived from prod's points at prod's line.
        const declared = e.project.spec.instances[e.name]?.[field as 'database'];
        const at = declared ? path : ['instances', 'prod', 'database'];
        out.push({
          rule: this.id,
          message: `${field} "${value}" contains "${hit}", which names the customer or project`,
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
      const where = { path: `instances.${e.name}`, location: e.project.locate(['instances', e.name]) };
      const isProdBucket = /-odoo-prod$/.test(bucket);
      if (e.name === 'prod' && !isProdBucket) {
        out.push({ rule: this.id, message: `prod bucket "${bucket}" must end in -odoo-prod`, ...where });
      }
      if (e.name !== 'prod' && isProdBucket) {
        out.push({ rule: this.id, message: `${e.name} uses "${bucket}", a production bucket`, ...where });
      }
      const owner = `${e.project.spec.name}/${e.name}`;
      const other = bucket ? seen.get(bucket) : undefined;
      if (other)
        out.push({ rule: this.id, message: `bucket "${bucket}" is also used by ${other}`, ...where });
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
