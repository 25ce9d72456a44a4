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
  await mkdir(join(dir, PROJECTS_DIR), { recursive: true });
  await writeFileAtomic(platformPath, platformTemplate(name, opts.domain, opts.email));
  const written = [platformPath];
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) {
    await writeFileAtomic(ignore, gitignoreTemplate);
    written.push(ignore);
  }
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
