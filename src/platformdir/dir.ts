// Which platform directory a command works on. Apart from the loader, so that
// every command can know it without loading the YAML parser and the schemas.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OdpError } from '../errors.js';

export const PLATFORM_FILE = 'platform.yaml';

/** --dir, then ODP_DIR, then the current directory. */
export function resolveDir(flag: string | undefined): string {
  return flag ?? process.env.ODP_DIR ?? process.cwd();
}

/** Refuses a directory without platform.yaml: nothing of a platform is there to read or change. */
export function requirePlatformDir(dir: string): void {
  if (!existsSync(join(dir, PLATFORM_FILE))) {
    throw new OdpError('SPEC_NOT_FOUND', `no ${PLATFORM_FILE} in ${dir}: not a platform directory`, {
      hint: 'Run `odp init DIR` to create a platform directory, or pass --dir / set ODP_DIR.',
    });
  }
}
