// `odp init`: a new platform directory. Refuses to overwrite an existing one.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type * as z from 'zod';
import { OdpError, type Problem } from '../../errors.js';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { PLATFORM_FILE, PROJECTS_DIR } from '../../platformdir/load.js';
import { schemaFiles, writeSchemaFiles } from '../../platformdir/schema-files.js';
import { gitignoreTemplate, platformTemplate } from '../../platformdir/template.js';
import { slug } from '../../platform-spec/common.js';
import { parseSpec } from '../../platform-spec/parse.js';
import { platformSchema } from '../../platform-spec/platform-schema.js';

export interface InitOptions {
  domain: string;
  email: string;
  name?: string;
  /** Check everything and return what would be written, writing nothing. */
  dryRun?: boolean;
}

export interface InitResult {
  /** The files written (in a dry run: that would be). */
  written: string[];
  /** Where platform.yaml names its ACME directory (Let's Encrypt staging), `file:line`. */
  acmeDirectory: string;
}

export async function initPlatform(dir: string, opts: InitOptions): Promise<InitResult> {
  const platformPath = join(dir, PLATFORM_FILE);
  if (existsSync(platformPath)) {
    throw new OdpError('ALREADY_EXISTS', `${platformPath} already exists`, {
      hint: 'Edit it, or choose another directory.',
    });
  }
  const name = opts.name ?? platformNameFrom(dir);
  // The options, by the rules `check` holds platform.yaml to, before anything is written.
  const fields: [string, string, z.ZodType][] = [
    ['--name', name, platformSchema.shape.name],
    ['--domain', opts.domain, platformSchema.shape.domain],
    ['--email', opts.email, platformSchema.shape.acme.shape.email],
  ];
  const problems: Problem[] = fields.flatMap(([flag, value, schema]) => {
    const r = schema.safeParse(value);
    return r.success
      ? []
      : [{ path: flag, message: `${JSON.stringify(value)}: ${r.error.issues[0]?.message}` }];
  });
  if (problems.length > 0) {
    throw new OdpError('USAGE', 'these options would make a platform.yaml that `odp check` refuses', {
      problems,
      hint: 'Fix the options above; nothing was written.',
    });
  }
  const text = platformTemplate(name, opts.domain, opts.email);
  parseSpec(platformPath, text, platformSchema); // what is written loads, or nothing is
  const ignore = join(dir, '.gitignore');
  const written = [platformPath, ...(existsSync(ignore) ? [] : [ignore]), ...schemaFiles(dir)];
  const line = text.split('\n').findIndex((l) => l.startsWith('  directory:')) + 1;
  const result = { written, acmeDirectory: `${platformPath}:${line}` };
  if (opts.dryRun) return result;
  await mkdir(join(dir, PROJECTS_DIR), { recursive: true });
  await writeFileAtomic(platformPath, text);
  if (written.includes(ignore)) await writeFileAtomic(ignore, gitignoreTemplate);
  await writeSchemaFiles(dir);
  return result;
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
