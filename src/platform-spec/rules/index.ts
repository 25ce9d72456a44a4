// The rules `odp check` enforces, in the order they are reported.
import { cloudStorageOnSharedTiers, domainsUnique, pinnedVersions, plansExist } from './instances.js';
import {
  databaseNamesHideCustomer,
  databasesUnique,
  prodBucketOnlyForProd,
  redisPrefixShape,
} from './naming.js';
import { noTrackedPlaintext, secretsPresent } from './secrets.js';
import { hostsDeclared, labelsHaveHosts, replicaElsewhere } from './topology.js';
import type { Rule, RuleInput, Violation } from './types.js';

export const rules: Rule[] = [
  databaseNamesHideCustomer,
  databasesUnique,
  redisPrefixShape,
  prodBucketOnlyForProd,
  cloudStorageOnSharedTiers,
  pinnedVersions,
  domainsUnique,
  plansExist,
  hostsDeclared,
  labelsHaveHosts,
  replicaElsewhere,
  noTrackedPlaintext,
  secretsPresent,
];

export function runRules(input: RuleInput): Violation[] {
  return rules.flatMap((r) => r.check(input));
}

/**
 * The violations one project brings, judged against every project that loads:
 * its own and the platform's, and a domain or database name it shares with
 * another project (reported on it: it is checked last). Another project's own
 * violations are that project's business, not this one's.
 */
export function violationsOf(input: RuleInput, name: string): Violation[] {
  const mine = input.projects.filter((p) => p.spec.name === name);
  const others = input.projects.filter((p) => p.spec.name !== name);
  const elsewhere = new Set(others.map((p) => p.file));
  return runRules({ ...input, projects: [...others, ...mine] }).filter(
    (v) => !v.location || !elsewhere.has(v.location.file),
  );
}

export type { Rule, RuleInput, Violation } from './types.js';
