// `odp check`: load the platform directory, gather the facts rules need from
// the outside world (git, decrypted secrets when possible), run every rule.
// A project file that does not load is reported with the violations of the
// others: the rules (unique domains and database names too) run over the
// projects that load, so one run shows everything to fix.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { trackedFiles } from '../../backends/git/index.js';
import type { Problem } from '../../errors.js';
import {
  brokenProblems,
  loadPlatformDir,
  platformInvalid,
  secretsFile,
  type PlatformDir,
} from '../../platformdir/load.js';
import { runRules, type Violation } from '../../platform-spec/rules/index.js';
import { isPlaintextSecretsFile } from '../../platform-spec/rules/secrets.js';
import { loadAllProjectSecrets } from '../secrets/secrets-all.js';

export interface CheckResult {
  pd: PlatformDir;
  violations: Violation[];
  secretsChecked: boolean;
  /** What could not be checked, and why: one sentence each (`the secrets of 2 projects (…)`). */
  notChecked: string[];
  /** The rules that need the secrets ran (over the projects whose secrets were opened). */
  secretRulesRan: boolean;
}

const NO_MEANS = 'no passphrase or key: set ODP_PASSPHRASE, or ODP_KEY_FILE for recipients files';

export async function checkPlatform(
  dir: string,
  opts: { passphraseFile?: string; keyFile?: string } = {},
): Promise<CheckResult> {
  // git answers while the files are parsed: one call for the whole directory.
  const tracking = trackedFiles(dir);
  tracking.catch(() => undefined); // awaited below; a failed load must not leave it unhandled
  const pd = await loadPlatformDir(dir);
  const tracked = (await tracking).filter(isPlaintextSecretsFile);
  // A project without a secrets file does not stop the others' secrets from being checked.
  const names = [...pd.projects.keys()];
  const withoutFile = names.filter((n) => !existsSync(secretsFile(dir, n)));
  const withFile = names.filter((n) => !withoutFile.includes(n));
  // All at once: one passphrase, one bounded loop (none at hand: the secret rules are skipped, and said so).
  // A file that does not load is reported first: no passphrase is asked before it is fixed.
  const secrets = pd.broken.size > 0 ? undefined : await loadAllProjectSecrets(dir, withFile, opts);
  const violations = runRules({
    platform: pd.platform,
    platformFile: pd.platformFile,
    locatePlatform: pd.locatePlatform,
    projects: [...pd.projects.values()],
    trackedPlaintextSecrets: tracked,
    ...(secrets ? { secrets } : {}),
  });
  if (pd.broken.size > 0) throw brokenAndViolations(pd, violations);

  const notChecked: string[] = [];
  if (!secrets && withFile.length > 0) notChecked.push(`${theSecretsOf(withFile.length)} (${NO_MEANS})`);
  if (withoutFile.length > 0) {
    const files = withoutFile.map((n) => show(secretsFile(dir, n))).join(', ');
    notChecked.push(
      `${theSecretsOf(withoutFile.length)} (no secrets file: ${files}; \`odp secrets set ${withoutFile[0]} KEY\` creates it)`,
    );
  }
  return {
    pd,
    violations,
    secretsChecked: secrets !== undefined && withoutFile.length === 0,
    notChecked,
    secretRulesRan: secrets !== undefined,
  };
}

function theSecretsOf(n: number): string {
  return `the secrets of ${n} project${n === 1 ? '' : 's'}`;
}

const show = (p: string) => relative(process.cwd(), p) || p;

/** The files that do not load, then what the rules found in the others: one error, exit 3. */
function brokenAndViolations(pd: PlatformDir, violations: Violation[]) {
  const found: Problem[] = violations.map((v) => ({ ...v, path: v.rule }));
  const n = pd.projects.size;
  return platformInvalid(
    pd.dir,
    [...brokenProblems(pd), ...found],
    `Fix the lines above. The rules ran over the ${n} project file${n === 1 ? '' : 's'} that load.`,
  );
}
