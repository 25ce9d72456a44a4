// Checks shared by every operation that changes what runs: they happen before
// anything is touched, so a failure leaves the previous state serving.
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { Stack } from '../../model/stack.js';

/** Every image must exist (here, or pullable); returns their ids, which the plan compares. */
export async function resolveImages(engine: Engine, stack: Stack): Promise<Record<string, string>> {
  const refs = [...new Set(stack.services.map((s) => s.image))];
  const ids = await Promise.all(refs.map((r) => engine.resolveImage(r)));
  const missing = refs.filter((_, i) => !ids[i]);
  if (missing.length) {
    throw new OdpError('DEPLOY_FAILED', `image not found: ${missing.join(', ')}`, {
      hint: 'Nothing was changed. Check the tag, or build the image (`odp images build` for platform images).',
    });
  }
  return Object.fromEntries(refs.map((r, i) => [r, ids[i]!]));
}
