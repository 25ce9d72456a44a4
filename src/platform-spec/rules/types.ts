// What every rule sees and returns. Rules are pure: the caller gathers the
// facts that need I/O (which files git tracks) and passes them in.
import type { SourceLocation } from '../../errors.js';
import type { Secret } from '../../secret.js';
import type { PlatformSpec } from '../platform-schema.js';
import type { ProjectSpec } from '../project-schema.js';

export interface ProjectInput {
  spec: ProjectSpec;
  file: string;
  locate: (path: readonly PropertyKey[]) => SourceLocation;
}

export interface RuleInput {
  platform: PlatformSpec;
  platformFile: string;
  locatePlatform: (path: readonly PropertyKey[]) => SourceLocation;
  projects: ProjectInput[];
  /** Plaintext secrets files (relative paths) that git tracks in the platform directory. */
  trackedPlaintextSecrets: string[];
  /** Each project's decrypted secrets, when a passphrase was available. */
  secrets?: ReadonlyMap<string, ReadonlyMap<string, Secret>>;
}

export interface Violation {
  rule: string;
  message: string;
  location?: SourceLocation;
  path?: string;
}

export interface Rule {
  id: string;
  description: string;
  /** Runs only with the decrypted secrets (`check` without a passphrase skips it, and says so). */
  needsSecrets?: boolean;
  check(input: RuleInput): Violation[];
}
