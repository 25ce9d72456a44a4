// A verified delivery is recorded by its id together with the work it caused,
// in one transaction: a replay of the same id is answered `duplicate` and
// does nothing, and an id is never kept for work that did not happen.
import { withDelivery } from '../state/jobs.js';
import type { Delivery, HookContext, Reply } from './hooks.js';

export type Done = { outcome: string; jobIds?: number[]; reply: Reply };

/** Runs `work` with the delivery recorded; a delivery seen before is a duplicate and does nothing. */
export function record(ctx: HookContext, d: Delivery, work: () => Done): Reply {
  const r = withDelivery(ctx.db, { source: d.source, id: d.id, event: d.event }, work);
  if (r.duplicate) {
    ctx.log({ event: 'webhook-duplicate', source: d.source, delivery: d.id });
    return { status: 200, body: { status: 'duplicate', delivery: d.id } };
  }
  if (r.result.jobIds?.length) ctx.wake();
  ctx.log({ event: 'webhook', source: d.source, delivery: d.id, type: d.event, outcome: r.result.outcome });
  return r.result.reply;
}

export function ignored(reason: string): Done {
  return { outcome: 'ignored', reply: { status: 202, body: { status: 'ignored', reason } } };
}
