// `odp check`: load the platform directory, gather the facts rules need from
// the outside world (git, decrypted secrets when possible), run every rule.
import { trackedFiles } from '../../backends/git/index.js';
import {
  brokenProblems,
  loadPlatformDir,
  platformInvalid,
  type PlatformDir,
} from '../../platformdir/load.js';
import { runRules, type Violation } from '../../platform-spec/rules/index.js';
import { isPlaintextSecretsFile } from '../../platform-spec/rules/secrets.js';
import { loadAllProjectSecrets } from '../secrets/secrets-all.js';

export interface CheckResult {
  pd: PlatformDir;
  violations: Violation[];
  secretsChecked: boolean;
}

export async function checkPlatform(
  dir: string,
  opts: { passphraseFile?: string; keyFile?: string } = {},
): Promise<CheckResult> {
  // git answers while the files are parsed: one call for the whole directory.
  const tracking = trackedFiles(dir);
  tracking.catch(() => undefined); // awaited below; a failed load must not leave it unhandled
  const pd = await loadPlatformDir(dir);
  // Other commands carry on without a broken project file; check is where it is reported.
  if (pd.broken.size > 0) throw platformInvalid(dir, brokenProblems(pd));
  const tracked = (await tracking).filter(isPlaintextSecretsFile);
  // All at once: one passphrase, one bounded loop (none at hand: the secret rules are skipped, and said so).
  const secrets = await loadAllProjectSecrets(dir, [...pd.projects.keys()], opts);
  const violations = runRules({
    platform: pd.platform,
    platformFile: pd.platformFile,
    locatePlatform: pd.locatePlatform,
    projects: [...pd.projects.values()],
    trackedPlaintextSecrets: tracked,
    ...(secrets ? { secrets } : {}),
  });
  return { pd, violations, secretsChecked: secrets !== undefined };
}
