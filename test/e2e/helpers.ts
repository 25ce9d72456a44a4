// Shared setup of the deploy end-to-end tests (and the deploy benchmark): the
// platform images built once, copies of the example platform whose project is
// renamed to a unique name (unit names carry the project name, never the
// platform's, so a test must not run `neomedical`), the sample project's image
// built under that project's name, the CLI run as a separate process, and a
// cleanup that removes everything carrying a test project's labels.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { DockerEngine } from '../../src/engines/docker/engine.js';
import { buildImages } from '../../src/images/build.js';
import { makeDocker } from '../../src/engines/docker/client.js';
import { DockerImages } from '../../src/engines/docker/images.js';
import { buildProjectImage } from '../../src/images/project.js';
import { copyExamplePlatform } from '../helpers/specs.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const docker = makeDocker();
export const engine = new DockerEngine(docker);
export const images = new DockerImages(docker);
/** The example platform's secrets are encrypted with the demo passphrase. */
export const PASSPHRASE = 'odp-demo';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * The deadline of a wait that a quiet machine meets in seconds: generous, because a busy
 * machine (two cores shared with other work) takes minutes. Waits end on the event, so a
 * long deadline costs nothing when things go well.
 */
export const SLOW_MACHINE_MS = 180_000;

export type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `<prefix>` + 4 random lower-case letters or digits: a valid, unique project name. */
export function uniqueName(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join('');
}

const tempDirs: string[] = [];
/** Every project made here, with its image repository. */
const projects = new Map<string, { platform: string; image: string }>();

export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/**
 * Platform images (cached by input hash: instant once built), the engine
 * answering, and a private state directory and the demo passphrase for every
 * operation of this process and the processes it starts.
 */
export async function setUp(): Promise<void> {
  await engine.ping();
  await buildImages({ images });
  process.env.ODP_STATE_DIR = path.join(await tempDir('odp-e2e-state-'), 'state');
  process.env.ODP_PASSPHRASE = PASSPHRASE;
}

export interface TestPlatform {
  /** The platform directory (a copy of examples/platform). */
  dir: string;
  /** The platform's name, unique too: its shared objects (the edge network) are the test's alone. */
  platform: string;
  project: string;
  /** The project's image repository (no tag). */
  image: string;
  /** The stack name, `<project>-odoo-test`. */
  stack: string;
}

/**
 * A copy of examples/platform named `odp-e2e-<project>`, whose project
 * `neomedical` is renamed to `project` (its file, name, secrets file) and runs
 * `image`; its domains are `[test.|integration.]<project>.<domain>`; `change`
 * edits the project's YAML data further.
 */
export async function makePlatform(
  project: string,
  opts: { image?: string; domain?: string; change?: (d: Data) => void } = {},
): Promise<TestPlatform> {
  const base = `${project}.${opts.domain ?? 'odoo.example.ch'}`;
  const image = opts.image ?? `odp-e2e/${project}_odoo`;
  const dir = path.join(await tempDir(`odp-e2e-${project}-`), 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  const platform = `odp-e2e-${project}`;
  const platformFile = path.join(dir, 'platform.yaml');
  const pd = parse(await readFile(platformFile, 'utf8')) as Data;
  pd.name = platform;
  await writeFile(platformFile, stringify(pd));
  projects.set(project, { platform, image });
  const projectsDir = path.join(dir, 'projects');
  const d = parse(await readFile(path.join(projectsDir, 'neomedical.yaml'), 'utf8')) as Data;
  d.name = project;
  d.image = image;
  d.instances.test.domain = `test.${base}`;
  d.instances.integration.domain = `integration.${base}`;
  d.instances.prod.domain = base;
  opts.change?.(d);
  await writeFile(path.join(projectsDir, `${project}.yaml`), stringify(d));
  await rm(path.join(projectsDir, 'neomedical.yaml'));
  await rename(path.join(projectsDir, 'neomedical.env.gpg'), path.join(projectsDir, `${project}.env.gpg`));
  return { dir, platform, project, image, stack: `${project}-odoo-test` };
}

/**
 * The sample project's image (examples/odoo-project/odoo) as `tag`, with its
 * VERSION file set to `version` (a string: only that), `files` written into
 * its build context (migration.yml) and `dockerfile` lines appended to its
 * Dockerfile (a LABEL unique to the build makes it a new image).
 */
export async function buildSampleImage(
  tag: string,
  o: string | { version?: string; files?: Record<string, string>; dockerfile?: string },
): Promise<void> {
  const { version, files = {}, dockerfile } = typeof o === 'string' ? { version: o } : o;
  const context = path.join(await tempDir('odp-e2e-image-'), 'odoo');
  cpSync(path.join(repoRoot, 'examples/odoo-project/odoo'), context, { recursive: true });
  if (dockerfile) {
    const file = path.join(context, 'Dockerfile');
    await writeFile(file, `${await readFile(file, 'utf8')}${dockerfile}\n`);
  }
  const all = { ...files, ...(version ? { VERSION: `${version}\n` } : {}) };
  for (const [name, text] of Object.entries(all)) await writeFile(path.join(context, name), text);
  await buildProjectImage(images, { context, tag });
}

/** Everything labelled with one of the projects made here, their images and temp dirs; pass or fail. */
export async function cleanUp(): Promise<void> {
  for (const [p, { platform, image }] of projects) await removeProject(p, image, platform);
  projects.clear();
  for (const d of tempDirs.splice(0)) await rm(d, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Removes the project's containers (with their anonymous volumes), networks,
 * volumes and images, then what else carries its platform's label (the edge network).
 */
export async function removeProject(project: string, imageRepo: string, platform: string): Promise<void> {
  await removeLabelled(`odp.project=${project}`);
  await removeLabelled(`odp.platform=${platform}`);
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [`${imageRepo}:*`] }) });
  for (const i of images) {
    for (const tag of i.RepoTags ?? []) {
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

/** Everything carrying `label` (key=value): containers with their anonymous volumes, networks, volumes. */
export async function removeLabelled(label: string): Promise<void> {
  const filters = JSON.stringify({ label: [label] });
  const containers = await docker.listContainers({ all: true, filters });
  // Sidecars first, as `odp destroy` does.
  containers.sort(
    (a, b) => Number(b.Labels['odp.service'] === 'nginx') - Number(a.Labels['odp.service'] === 'nginx'),
  );
  for (const c of containers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

/** What carries `odp.project=<project>` on the engine: containers, networks, volumes. */
export async function labelled(
  project: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = JSON.stringify({ label: [`odp.project=${project}`] });
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return {
    containers: c.map((x) => x.Names[0] ?? x.Id),
    networks: n.map((x) => x.Name),
    volumes: (v.Volumes ?? []).map((x) => x.Name),
  };
}

/**
 * The volumes the project's containers mount that carry no label of it: the
 * anonymous ones Docker makes for an image's VOLUMEs (redis /data, Odoo's
 * /data/odoo and /var/log/odoo). Removing a container must remove them too.
 */
export async function anonymousVolumes(project: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`odp.project=${project}`] });
  const named = new Set(((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name));
  const list = await docker.listContainers({ all: true, filters });
  return list
    .flatMap((c) =>
      c.Mounts.filter((m) => m.Type === 'volume' && m.Name && !named.has(m.Name)).map((m) => m.Name!),
    )
    .sort();
}

/** Those of `names` that still exist on the engine. */
export async function existingVolumes(names: string[]): Promise<string[]> {
  const all = new Set(((await docker.listVolumes()).Volumes ?? []).map((v) => v.Name));
  return names.filter((n) => all.has(n));
}

/** Container ids of the project's units, by unit name. */
export async function unitIds(project: string): Promise<Record<string, string>> {
  const filters = JSON.stringify({ label: [`odp.project=${project}`] });
  const list = await docker.listContainers({ all: true, filters });
  return Object.fromEntries(
    list
      .map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c.Id] as const)
      .sort((a, b) => a[0].localeCompare(b[0])),
  );
}

export interface CliLine {
  /** When this process received the line (ms since the epoch). */
  at: number;
  text: string;
}

export interface CliResult {
  code: number | null;
  pid: number;
  stdout: string;
  stderr: string;
  stderrLines: CliLine[];
}

/**
 * `odp ARGS` as a separate process (`node --import tsx src/cli/run.ts`), with
 * the test's environment; each stderr line is stamped when it arrives. Killed
 * after `timeoutMs`, so a hung command fails the test instead of hanging it.
 */
export function runCli(
  args: string[],
  opts: {
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** Kill the process (SIGKILL, as a crash would) this long after a stderr line matches. */
    killAfter?: { line: RegExp; ms: number };
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src/cli/run.ts'), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let partial = '';
    const stderrLines: CliLine[] = [];
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      const at = Date.now();
      const text = c.toString();
      stderr += text;
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        stderrLines.push({ at, text: line });
        partial = partial.slice(nl + 1);
        const k = opts.killAfter;
        if (k && k.line.test(line)) setTimeout(() => child.kill('SIGKILL'), k.ms);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial) stderrLines.push({ at: Date.now(), text: partial });
      resolve({ code, pid: child.pid ?? -1, stdout, stderr, stderrLines });
    });
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A request on node:http with a timeout. Not fetch: Node 20's fetch can stay pending
 * when docker-proxy resets a connection to a container that does not listen yet.
 */
export function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: o.method ?? 'GET', headers: o.headers, timeout: o.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

export const get = (url: string, timeoutMs = 30_000): Promise<Reply> => request(url, { timeoutMs });

/**
 * Runs a command in a running container; its exit code and output (stdout and
 * stderr). `stdin` is fed to the command, whose input closes when it ends.
 */
export async function execIn(
  container: string,
  cmd: string[],
  stdin?: NodeJS.ReadableStream,
): Promise<{ code: number; out: string }> {
  const e = await docker
    .getContainer(container)
    .exec({ Cmd: cmd, AttachStdin: !!stdin, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: !!stdin });
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  docker.modem.demuxStream(stream, sink, sink);
  const ended = new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stdin?.pipe(stream); // its end half-closes the connection: the command reads end of file
  await ended;
  const { ExitCode } = await e.inspect();
  return { code: ExitCode ?? -1, out: Buffer.concat(chunks).toString() };
}

/** A plan as `--dry-run --json` emits it, and an operation as `odp history --json` does. */
export interface PlanJson {
  operation: string;
  steps: { id: string; kind: string; after: string[] }[];
}
export interface OperationJson {
  kind: string;
  outcome: string;
  plan: unknown;
  steps: { id: string | null; kind: string | null; outcome: string }[];
}

/** The newest operations of an instance, from `odp history --json`. */
export async function operations(dir: string, project: string, instance: string): Promise<OperationJson[]> {
  const h = await runCli(['--dir', dir, 'history', project, instance, '--json']);
  assert.equal(h.code, 0, h.stderr);
  return (JSON.parse(h.stdout) as { operations: OperationJson[] }).operations;
}

/**
 * The dry run printed the steps the run executed: the history recorded each
 * step of the plan, by the same id and kind, each after those it waits for,
 * all ended well.
 */
export function assertRanSteps(
  recorded: OperationJson['steps'],
  planned: readonly { id: string; kind: string; after: string[] }[],
): void {
  const ran = recorded.filter((x) => x.id !== null);
  assert.deepEqual(ran.map((x) => x.id).sort(), planned.map((x) => x.id).sort());
  const at = new Map(ran.map((x, i) => [x.id, i]));
  for (const step of planned) {
    assert.equal(ran[at.get(step.id)!]?.kind, step.kind);
    for (const a of step.after) assert.ok(at.get(a)! < at.get(step.id)!, `${a} ran before ${step.id}`);
  }
  assert.ok(
    ran.every((x) => x.outcome === 'ok'),
    ran.map((x) => `${x.id} ${x.outcome}`).join('\n'),
  );
}

/** assertRanSteps, and the history keeps the very plan the dry run printed. */
export function assertRanAsPlanned(op: OperationJson, plan: PlanJson): void {
  assertRanSteps(op.steps, plan.steps);
  assert.deepEqual(op.plan, plan, 'the history keeps the plan the dry run printed');
}
