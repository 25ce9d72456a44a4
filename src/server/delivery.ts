// A verified delivery is recorded by its id (and for GitHub, whose id is not
// signed, by its body's hash) together with the work it caused, in one
// transaction: a replay is answered `duplicate` and does nothing, and a
// delivery is never kept for work that did not happen. A delivery that causes
// nothing is kept with why, for `odp jobs`.
import { withDelivery } from '../state/jobs.js';
import type { Delivery, HookContext, Reply } from './hook-context.js';

export type Done = { outcome: string; jobIds?: number[]; detail?: string; reply: Reply };

/** Runs `work` with the delivery recorded; a delivery seen before is a duplicate and does nothing. */
export function record(ctx: HookContext, d: Delivery, work: () => Done): Reply {
  const r = withDelivery(
    ctx.db,
    { source: d.source, id: d.id, event: d.event, ...(d.bodySha256 ? { bodySha256: d.bodySha256 } : {}) },
    work,
  );
  if (r.duplicate) {
    const why = r.by === 'id' ? 'delivery id seen before' : `same body as delivery ${r.of}`;
    ctx.log({ event: 'webhook-duplicate', source: d.source, delivery: d.id, why });
    // GitHub redelivers under the same id on purpose: a 2xx tells it the
    // delivery is done. `odp publish` never re-sends an id: a re-used one is refused.
    if (d.source === 'odp')
      return { status: 409, body: { error: `delivery id ${d.id} was used before: refused as a replay` } };
    return { status: 200, body: { status: 'duplicate', delivery: d.id, why } };
  }
  if (r.result.jobIds?.length) ctx.wake();
  ctx.log({
    event: 'webhook',
    source: d.source,
    delivery: d.id,
    type: d.event,
    outcome: r.result.outcome,
    ...(r.result.detail ? { detail: r.result.detail } : {}),
  });
  return r.result.reply;
}

export function ignored(reason: string): Done {
  return { outcome: 'ignored', detail: reason, reply: { status: 202, body: { status: 'ignored', reason } } };
}
