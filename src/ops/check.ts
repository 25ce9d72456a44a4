// `odp check`: load the platform directory, gather the facts rules need from
// the outside world (git, decrypted secrets when possible), run every rule.
import { trackedFiles } from '../backends/git/index.js';
import { brokenProblems, loadPlatformDir, platformInvalid, type PlatformDir } from '../platformdir/load.js';
import type { Secret } from '../secret.js';
import { runRules, type Violation } from '../spec/rules/index.js';
import { isPlaintextSecretsFile } from '../spec/rules/secrets.js';
import { loadProjectSecrets } from './secrets.js';

export interface CheckResult {
  pd: PlatformDir;
  violations: Violation[];
  secretsChecked: boolean;
}

export async function checkPlatform(
  dir: string,
  opts: { passphraseFile?: string; keyFile?: string } = {},
): Promise<CheckResult> {
  const pd = await loadPlatformDir(dir);
  // Other commands carry on without a broken project file; check is where it is reported.
  if (pd.broken.size > 0) throw platformInvalid(dir, brokenProblems(pd));
  const tracked = (await trackedFiles(dir)).filter(isPlaintextSecretsFile);
  let secrets: Map<string, ReadonlyMap<string, Secret>> | undefined = new Map();
  for (const name of pd.projects.keys()) {
    const s = await loadProjectSecrets(dir, name, { ...opts, optional: true });
    if (s === undefined) {
      secrets = undefined; // no passphrase to be had: secret rules are skipped, and said so
      break;
    }
    secrets.set(name, s);
  }
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
