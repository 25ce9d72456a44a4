// Reads a platform directory: platform.yaml and projects/*.yaml. All problems of
// all files are gathered before failing, so one run shows everything to fix.
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { OdpError, type Problem, type SourceLocation } from '../errors.js';
import { parseSpec } from '../spec/parse.js';
import { platformSchema, type PlatformSpec } from '../spec/platform-schema.js';
import { projectSchema, type ProjectSpec } from '../spec/project-schema.js';

export interface LoadedProject {
  spec: ProjectSpec;
  file: string;
  locate: (path: readonly PropertyKey[]) => SourceLocation;
}

export interface PlatformDir {
  dir: string;
  platform: PlatformSpec;
  platformFile: string;
  locatePlatform: (path: readonly PropertyKey[]) => SourceLocation;
  projects: Map<string, LoadedProject>;
}

export const PLATFORM_FILE = 'platform.yaml';
export const PROJECTS_DIR = 'projects';

export function projectFile(dir: string, name: string): string {
  return join(dir, PROJECTS_DIR, `${name}.yaml`);
}

export function secretsFile(dir: string, name: string): string {
  return join(dir, PROJECTS_DIR, `${name}.env.gpg`);
}

export { resolveDir } from './dir.js';

export async function loadPlatformDir(dir: string): Promise<PlatformDir> {
  const platformPath = join(dir, PLATFORM_FILE);
  if (!existsSync(platformPath)) {
    throw new OdpError('SPEC_NOT_FOUND', `no ${PLATFORM_FILE} in ${dir}`, {
      hint: 'Run `odp init DIR` to create a platform directory, or pass --dir / set ODP_DIR.',
    });
  }
  const problems: Problem[] = [];
  // Paths as the user would type them: relative below the current directory, absolute elsewhere.
  const show = (p: string) => {
    const rel = relative(process.cwd(), p);
    return rel && !rel.startsWith('..') ? rel : resolve(p);
  };

  let platform: ReturnType<typeof parseSpec<typeof platformSchema>> | undefined;
  try {
    platform = parseSpec(show(platformPath), await readFile(platformPath, 'utf8'), platformSchema);
  } catch (e) {
    collect(e, problems);
  }

  const projects = new Map<string, LoadedProject>();
  const projectsDir = join(dir, PROJECTS_DIR);
  const files = existsSync(projectsDir)
    ? (await readdir(projectsDir)).filter((f) => f.endsWith('.yaml')).sort()
    : [];
  for (const f of files) {
    const path = join(projectsDir, f);
    try {
      // Read synchronously: a promise read is four thread-pool round trips per file,
      // which for a thousand small files cost more than parsing them.
      const parsed = parseSpec(show(path), readFileSync(path, 'utf8'), projectSchema);
      const expected = f.replace(/\.yaml$/, '');
      if (parsed.value.name !== expected) {
        problems.push({
          message: `name "${parsed.value.name}" does not match the file name (expected "${expected}")`,
          path: 'name',
          location: parsed.locate(['name']),
        });
        continue;
      }
      projects.set(parsed.value.name, { spec: parsed.value, file: show(path), locate: parsed.locate });
    } catch (e) {
      collect(e, problems);
    }
  }

  if (problems.length > 0 || !platform) {
    throw new OdpError('SPEC_INVALID', `the platform spec in ${dir} has ${problems.length} problem(s)`, {
      problems,
      hint: 'Fix the lines above; `odp schema` prints the JSON Schema for editors.',
    });
  }
  return {
    dir,
    platform: platform.value,
    platformFile: show(platformPath),
    locatePlatform: platform.locate,
    projects,
  };
}

function collect(e: unknown, problems: Problem[]): void {
  if (e instanceof OdpError && e.code === 'SPEC_INVALID') problems.push(...e.problems);
  else throw e;
}

export function requireProject(pd: PlatformDir, name: string): LoadedProject {
  const p = pd.projects.get(name);
  if (!p) {
    const known = [...pd.projects.keys()].join(', ') || 'none';
    throw new OdpError('NOT_FOUND', `no project "${name}" in ${pd.dir}`, {
      hint: `Known projects: ${known}.`,
    });
  }
  return p;
}
