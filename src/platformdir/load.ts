// Reads a platform directory: platform.yaml and projects/*.yaml. All problems of
// all files are gathered before failing, so one run shows everything to fix.
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type * as z from 'zod';
import { OdpError, type Problem, type SourceLocation } from '../errors.js';
import { parsePlain, type Parsed } from '../platform-spec/parse-plain.js';
import { platformSchema, type PlatformSpec } from '../platform-spec/platform-schema.js';
import { projectSchema, type ProjectSpec } from '../platform-spec/project-schema.js';
import { MAX_YAML_BYTES } from '../platform-spec/yaml-limits.js';
import { PLATFORM_FILE, requirePlatformDir } from './dir.js';

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
  /**
   * Project files that do not load, by project name (the file name), each with
   * its file's problems. They do not stop the other projects: `check` reports
   * them, a command on one of them fails with its error (requireProject).
   */
  broken: Map<string, OdpError>;
}

export { PLATFORM_FILE } from './dir.js';
export const PROJECTS_DIR = 'projects';

export function projectFile(dir: string, name: string): string {
  return join(dir, PROJECTS_DIR, `${name}.yaml`);
}

export function secretsFile(dir: string, name: string): string {
  return join(dir, PROJECTS_DIR, `${name}.env.gpg`);
}

export { resolveDir } from './dir.js';

export async function loadPlatformDir(dir: string): Promise<PlatformDir> {
  requirePlatformDir(dir);
  const platformPath = join(dir, PLATFORM_FILE);
  // Paths as the user would type them: relative below the current directory, absolute elsewhere.
  const show = (p: string) => {
    const rel = relative(process.cwd(), p);
    return rel && !rel.startsWith('..') ? rel : resolve(p);
  };

  // Without its platform.yaml nothing can be judged: its problems stop everything
  // (reported with those of the project files, so one run shows all to fix).
  let platform: Parsed<PlatformSpec> | undefined;
  let platformError: OdpError | undefined;
  try {
    platform = await parseSpecFile(show(platformPath), readSpecText(platformPath, show), platformSchema);
  } catch (e) {
    if (e instanceof OdpError && e.code === 'SPEC_INVALID') platformError = e;
    else throw e;
  }

  const projects = new Map<string, LoadedProject>();
  const broken = new Map<string, OdpError>();
  const projectsDir = join(dir, PROJECTS_DIR);
  const files = existsSync(projectsDir)
    ? (await readdir(projectsDir)).filter((f) => f.endsWith('.yaml')).sort()
    : [];
  // show() of each file, from the directory's (two path operations a file add up at fleet scale).
  const relDir = relative(process.cwd(), projectsDir);
  const shownDir = relDir && !relDir.startsWith('..') ? relDir : resolve(projectsDir);
  const showFile = (f: string) => (relDir === '' ? f : `${shownDir}/${f}`);
  for (const f of files) {
    const path = join(projectsDir, f);
    const shown = showFile(f);
    const expected = f.replace(/\.yaml$/, '');
    try {
      const parsed = await parseSpecFile(
        shown,
        readSpecText(path, () => shown),
        projectSchema,
      );
      if (parsed.value.name !== expected) {
        const problem: Problem = {
          message: `name "${parsed.value.name}" does not match the file name (expected "${expected}")`,
          path: 'name',
          location: parsed.locate(['name']),
        };
        broken.set(expected, specInvalid(shown, [problem]));
        continue;
      }
      projects.set(parsed.value.name, { spec: parsed.value, file: shown, locate: parsed.locate });
    } catch (e) {
      if (e instanceof OdpError && e.code === 'SPEC_INVALID') broken.set(expected, e);
      else throw e;
    }
  }

  if (!platform) {
    const problems = [...(platformError?.problems ?? []), ...[...broken.values()].flatMap((e) => e.problems)];
    throw platformInvalid(dir, problems);
  }
  return {
    dir,
    platform: platform.value,
    platformFile: show(platformPath),
    locatePlatform: platform.locate,
    projects,
    broken,
  };
}

/** platform.yaml alone: what is known before any project file is read. */
export type PlatformFile = Pick<PlatformDir, 'dir' | 'platform' | 'platformFile' | 'locatePlatform'>;

/**
 * Reads platform.yaml only (which engine runs the platform is known before a
 * thousand project files are parsed). A file that does not load is reported as
 * `loadPlatformDir` reports it: with every project file's problems, at once.
 */
export async function loadPlatformFile(dir: string): Promise<PlatformFile> {
  const platformPath = join(dir, PLATFORM_FILE);
  if (!existsSync(platformPath)) return loadPlatformDir(dir); // throws SPEC_NOT_FOUND, with its hint
  const rel = relative(process.cwd(), platformPath);
  const shown = rel && !rel.startsWith('..') ? rel : resolve(platformPath);
  try {
    const parsed = await parseSpecFile(
      shown,
      readSpecText(platformPath, () => shown),
      platformSchema,
    );
    return { dir, platform: parsed.value, platformFile: shown, locatePlatform: parsed.locate };
  } catch (e) {
    if (e instanceof OdpError && e.code === 'SPEC_INVALID') await loadPlatformDir(dir);
    throw e;
  }
}

/**
 * parseSpec, with the YAML library loaded only for a file the plain reader
 * declines or the schema refuses (parse-plain.ts): a platform of plain, valid
 * files is loaded without it.
 */
async function parseSpecFile<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
): Promise<Parsed<z.output<S>>> {
  let plain: Parsed<z.output<S>> | undefined;
  try {
    plain = parsePlain(file, text, schema);
  } catch {
    // parseSpec reports whatever it was
  }
  if (plain) return plain;
  const { parseSpec } = await import('../platform-spec/parse.js');
  return parseSpec(file, text, schema);
}

/**
 * Refuses a file over the size bound before reading it: a spec is never megabytes.
 * Synchronous: a promise read is four thread-pool round trips per file, which for a
 * thousand small files cost more than parsing them.
 */
function readSpecText(path: string, show: (p: string) => string): string {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_YAML_BYTES) {
      const message = `the file is ${size} bytes; at most ${MAX_YAML_BYTES} (1 MiB) are read`;
      throw specInvalid(show(path), [{ message, location: { file: show(path), line: 1, column: 1 } }]);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function specInvalid(file: string, problems: Problem[]): OdpError {
  return new OdpError(
    'SPEC_INVALID',
    `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
    {
      problems,
      hint: 'Fix the lines above; `odp schema` prints the JSON Schema for editors.',
    },
  );
}

/** Every problem of every broken project file, for commands that judge the whole platform. */
export function brokenProblems(pd: PlatformDir): Problem[] {
  return [...pd.broken.values()].flatMap((e) => e.problems);
}

export function platformInvalid(
  dir: string,
  problems: Problem[],
  hint = 'Fix the lines above; `odp schema` prints the JSON Schema for editors.',
): OdpError {
  return new OdpError('SPEC_INVALID', `the platform spec in ${dir} has ${problems.length} problem(s)`, {
    problems,
    hint,
  });
}

/**
 * For commands that rewrite what every project shares (the edge's routes):
 * with a project file that does not load, its routes would silently go.
 */
export function requireAllProjects(pd: PlatformDir, what: string): void {
  if (pd.broken.size === 0) return;
  const problems = brokenProblems(pd);
  const files = [...new Set(problems.map((p) => p.location?.file).filter(Boolean))].join(', ');
  throw new OdpError(
    'SPEC_INVALID',
    `${what} needs every project file to load; ${files} do${pd.broken.size === 1 ? 'es' : ''} not`,
    {
      problems,
      hint: 'Fix the lines above (`odp check` lists them); nothing was changed.',
    },
  );
}

export function requireProject(pd: PlatformDir, name: string): LoadedProject {
  const p = pd.projects.get(name);
  // The project's own file does not load: its problems, not "no such project".
  const broken = pd.broken.get(name);
  if (broken) throw broken;
  if (!p) {
    const known = [...pd.projects.keys()].join(', ') || 'none';
    throw new OdpError('NOT_FOUND', `no project "${name}" in ${pd.dir}`, {
      hint: `Known projects: ${known}.`,
    });
  }
  return p;
}
