// platform.yaml's `backups`, and a plan's own backup retention (decision 0079).
// Retention is grandfather-father-son: the newest backup of each of the last N
// days, weeks and months that have one (src/plan/retention.ts says exactly how).
// The older `keep` (the newest N backups) still works for files that set it.
import * as z from 'zod';
import { bucketName } from './common.js';

/** What a platform that says nothing keeps: a week of days, a month of weeks, a quarter of months. */
export const DEFAULT_RETENTION = { daily: 7, weekly: 4, monthly: 3 } as const;

const count = (min: number) => z.number().int().min(min).max(1000);

const retentionTexts = {
  daily:
    'The newest backup of each of this many most recent UTC days that have a backup is kept (a day without one is not counted).',
  weekly:
    'The newest backup of each of this many most recent ISO weeks (Monday to Sunday, UTC) that have one is kept; 0: none for its week.',
  monthly:
    'The newest backup of each of this many most recent calendar months (UTC) that have one is kept; 0: none for its month.',
};

export const retentionSchema = z
  .strictObject({
    daily: count(1).default(DEFAULT_RETENTION.daily).describe(retentionTexts.daily),
    weekly: count(0).default(DEFAULT_RETENTION.weekly).describe(retentionTexts.weekly),
    monthly: count(0).default(DEFAULT_RETENTION.monthly).describe(retentionTexts.monthly),
  })
  .describe(
    'Grandfather-father-son retention of each instance: the backups kept for a day, a week or a month are kept together, and the one just made always; the others are deleted after each backup. Without it (and without keep): 7 daily, 4 weekly, 3 monthly. A plan may set its own (plans.<name>.backups).',
  );

const fromPlatform = "Left out: backups.retention's (its default when the platform sets none).";

/** A plan's own retention: a field it leaves out is the platform's. */
export const planBackupsSchema = z
  .strictObject({
    daily: count(1)
      .optional()
      .meta({ description: `${retentionTexts.daily} ${fromPlatform}`, examples: [14] }),
    weekly: count(0)
      .optional()
      .meta({ description: `${retentionTexts.weekly} ${fromPlatform}`, examples: [8] }),
    monthly: count(0)
      .optional()
      .meta({ description: `${retentionTexts.monthly} ${fromPlatform}`, examples: [12] }),
  })
  .meta({
    description:
      "Backup retention of this plan's integration and prod instances, in place of the platform's backups.retention.",
    examples: [{ daily: 14, weekly: 8, monthly: 12 }],
  });

export const backupsSchema = z
  .strictObject({
    retention: retentionSchema.optional(),
    keep: count(1)
      .optional()
      .meta({
        description:
          "The older retention, by count: the newest this many backups of each instance, whatever their days. Only without retention; an instance whose plan sets backups follows the plan's.",
        examples: [7],
      }),
    bucket: bucketName.optional().meta({
      description: 'Where `odp backup` writes; defaults to <platform>-backups on the platform storage.',
      examples: ['acme-odoo-backups'],
    }),
  })
  .superRefine((b, ctx) => {
    // Two policies for one set of backups: which one deletes would be a guess.
    if (b.keep !== undefined && b.retention !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['keep'],
        message: 'keep and retention exclude each other: retention replaces keep, remove keep',
      });
    }
  })
  .describe('Backups of integration and prod instances (`odp backup`, `odp restore`).');

export type BackupsSpec = z.output<typeof backupsSchema>;
export type RetentionSpec = z.output<typeof retentionSchema>;
export type PlanBackupsSpec = z.output<typeof planBackupsSchema>;
