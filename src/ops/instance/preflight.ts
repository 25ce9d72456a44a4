// Checks shared by every operation that changes what runs: they happen before
// anything is touched, so a failure leaves the previous state serving.
import type { Engine } from '../../engines/engine.js';
import { OdpError, formatProblem } from '../../errors.js';
import type { Stack } from '../../model/stack.js';
import { brokenProblems, type PlatformDir } from '../../platformdir/load.js';
import { violationsOf } from '../../platform-spec/rules/index.js';
import type { Progress } from '../../progress.js';

/**
 * The project passes `odp check`'s rules, judged against every project that
 * loads (a domain or database another one uses is refused). A project file
 * that does not load does not stop it: a warning names it, since nothing
 * was compared with it.
 */
export function refuseViolations(pd: PlatformDir, project: string, progress: Progress): void {
  // The first problem of each file that does not load: where to look.
  const first = new Map(brokenProblems(pd).map((p) => [p.location?.file, p]));
  for (const p of first.values()) {
    progress.note(
      `warning: ${formatProblem(p)} (that file does not load: ${project} was not compared with it)`,
    );
  }
  const violations = violationsOf(
    {
      platform: pd.platform,
      platformFile: pd.platformFile,
      locatePlatform: pd.locatePlatform,
      projects: [...pd.projects.values()],
      trackedPlaintextSecrets: [],
    },
    project,
  );
  if (violations.length) {
    throw new OdpError('CHECK_FAILED', `${project} does not pass odp check`, {
      problems: violations.map((v) => ({ ...v, path: v.rule })),
    });
  }
}

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
