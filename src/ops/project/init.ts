// `odp init`: a new platform directory. Refuses to overwrite an existing one.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { OdpError } from '../../errors.js';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { PLATFORM_FILE, PROJECTS_DIR } from '../../platformdir/load.js';
import { gitignoreTemplate, platformTemplate } from '../../platformdir/template.js';
import { slug } from '../../platform-spec/common.js';

export interface InitOptions {
  domain: string;
  email: string;
  name?: string;
  /** Check everything and return what would be written, writing nothing. */
  dryRun?: boolean;
}

export async function initPlatform(dir: string, opts: InitOptions): Promise<string[]> {
  const platformPath = join(dir, PLATFORM_FILE);
  if (existsSync(platformPath)) {
    throw new OdpError('ALREADY_EXISTS', `${platformPath} already exists`, {
      hint: 'Edit it, or choose another directory.',
    });
  }
  const name = opts.name ?? platformNameFrom(dir);
  const invalid = slug.safeParse(name);
  if (!invalid.success) {
    throw new OdpError(
      'USAGE',
      `"${name}" cannot name a platform: ${invalid.error.issues[0]?.message ?? ''}`,
      {
        hint: 'Pass --name with lower-case letters, digits and dashes.',
      },
    );
  }
  const ignore = join(dir, '.gitignore');
  const written = existsSync(ignore) ? [platformPath] : [platformPath, ignore];
  if (opts.dryRun) return written;
  await mkdir(join(dir, PROJECTS_DIR), { recursive: true });
  await writeFileAtomic(platformPath, platformTemplate(name, opts.domain, opts.email));
  if (written.includes(ignore)) await writeFileAtomic(ignore, gitignoreTemplate);
  return written;
}

/** The directory's name made into a valid platform name, or `platform` when nothing usable is left. */
function platformNameFrom(dir: string): string {
  const cleaned = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+|-+$/g, '')
    .slice(0, 40);
  return slug.safeParse(cleaned).success ? cleaned : 'platform';
}
