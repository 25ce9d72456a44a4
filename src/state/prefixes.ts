// The Redis session prefixes handed out to instances. A prefix is an
// instance's namespace in a shared Redis: claiming one twice is refused.
import { OdpError } from '../errors.js';
import type { StateDb } from './db.js';

export function claimRedisPrefix(
  db: StateDb,
  prefix: string,
  owner: { project: string; instance: string },
): 'created' | 'unchanged' {
  return db.transaction(() => {
    const row = db.prepare('SELECT project, instance FROM redis_prefixes WHERE prefix = ?').get(prefix) as
      { project: string; instance: string } | undefined;
    if (row && (row.project !== owner.project || row.instance !== owner.instance)) {
      throw new OdpError(
        'ALREADY_EXISTS',
        `Redis prefix ${prefix} belongs to ${row.project}/${row.instance}`,
        {
          hint: 'Give this instance its own redisPrefix in its project spec.',
        },
      );
    }
    if (row) return 'unchanged' as const;
    db.prepare('INSERT INTO redis_prefixes (prefix, project, instance, created_at) VALUES (?, ?, ?, ?)').run(
      prefix,
      owner.project,
      owner.instance,
      new Date().toISOString(),
    );
    return 'created' as const;
  })();
}
