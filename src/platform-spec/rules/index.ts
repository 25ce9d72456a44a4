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

export type { Rule, RuleInput, Violation } from './types.js';
