// `odp backups`: an instance's backups as the bucket holds them, newest first,
// each read from its manifest (a backup without one is incomplete). The bucket
// is the source of truth: nothing about backups is kept anywhere else.
import type { Tier } from '../../compose/platform.js';
import { isOdpError } from '../../errors.js';
import { inParallel, type Bucket } from '../../backends/s3/bucket.js';
import type { RetentionPolicy } from '../../plan/retention.js';
import {
  BACKUP_ID,
  backupTime,
  openBackups,
  type BackupManifest,
  type BackupSummary,
} from './backup-common.js';
import { instancePolicy } from './backup-retention.js';

/** The backups under `prefix`, newest first, read from the bucket (and their manifests). */
export async function listBackups(bucket: Bucket, prefix: string): Promise<BackupSummary[]> {
  if (!(await bucket.exists())) return [];
  const ids = (await bucket.folders(prefix))
    .filter((id) => BACKUP_ID.test(id))
    .sort()
    .reverse();
  const out: BackupSummary[] = new Array(ids.length);
  const now = Date.now();
  await inParallel(
    ids.map((id, i) => [id, i] as const),
    async ([id, i]) => {
      const createdAt = backupTime(id);
      const base: BackupSummary = {
        id,
        complete: false,
        createdAt: createdAt.toISOString(),
        ageSeconds: Math.max(0, Math.round((now - createdAt.getTime()) / 1000)),
      };
      try {
        const m = await bucket.readJson<BackupManifest>(`${prefix}${id}/manifest.json`);
        out[i] = {
          ...base,
          complete: true,
          createdAt: m.createdAt,
          ageSeconds: Math.max(0, Math.round((now - Date.parse(m.createdAt)) / 1000)),
          bytes: m.dump.bytes + m.attachments.bytes,
          dumpBytes: m.dump.bytes,
          attachments: { objects: m.attachments.objects, bytes: m.attachments.bytes },
          imageVersion: m.imageVersion,
        };
      } catch (e) {
        if (!isOdpError(e) || e.code !== 'NOT_FOUND') throw e;
        out[i] = base;
      }
    },
  );
  return out;
}

/** `odp backups PROJECT INSTANCE`. */
export async function instanceBackups(
  dir: string,
  project: string,
  instance: string,
  o: { passphraseFile?: string } = {},
): Promise<{
  project: string;
  instance: Tier;
  bucket: string;
  retention: RetentionPolicy;
  backups: BackupSummary[];
}> {
  const loc = await openBackups(dir, project, instance, { ...o, what: 'backups' });
  try {
    return {
      project,
      instance: loc.instance,
      bucket: loc.bucket.name,
      retention: instancePolicy(loc),
      backups: await listBackups(loc.bucket, loc.prefix),
    };
  } finally {
    loc.bucket.close();
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
