// The flags of `odp deploy` and what every deploy command (deploy.ts's action,
// deploy-action.ts, branches.ts for --branch) passes on from them: in a module
// of their own, so that those three do not import each other.
import type { EdgeControl } from '../ops/edge/edge-sync.js';

export interface DeployFlags {
  branch?: string;
  tag?: string;
  version?: string;
  dryRun?: boolean;
  passphraseFile?: string;
  /** Seconds, parsed by commander. */
  healthTimeout: number;
  wait: boolean;
  json?: boolean;
}

/** What every deploy command passes on from its flags to the flow it runs. */
export function engineOptions(
  opts: Pick<DeployFlags, 'dryRun' | 'passphraseFile' | 'wait' | 'healthTimeout'>,
  edge: EdgeControl,
) {
  return {
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {}),
    wait: opts.wait,
    edge,
    healthTimeoutMs: opts.healthTimeout * 1000,
  };
}
