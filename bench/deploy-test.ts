// Benchmark: `odp deploy PROJECT test` against docker-compose 1.29 bringing up
// the same stack, from nothing to every service healthy. Both run the file
// `odp render PROJECT test --format compose --out DIR` describes (same images,
// same health checks, same start order), alternately, five times each, tearing
// everything down between runs. See bench/README.md.
//
//   npm run bench:deploy-test
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import {
  buildSampleImage,
  repoRoot,
  cleanUp,
  docker,
  labelled,
  makePlatform,
  setUp,
  sleep,
  tempDir,
  uniqueName,
  type TestPlatform,
} from '../test/e2e/helpers.js';
import { writeLegacyComposeFile } from './legacy-health.js';

const RUNS = 5;
const HEALTH_TIMEOUT_MS = 300_000;

interface Run {
  tool: 'odp' | 'compose';
  seconds: number;
}

function sh(cmd: string, args: string[], timeoutMs = 300_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** odp as users run it: the compiled CLI (bin/odp.js), built at the start of the bench. */
function odpCli(args: string[], timeoutMs = 300_000): Promise<{ code: number | null; out: string }> {
  return sh(process.execPath, [path.join(repoRoot, 'bin/odp.js'), ...args], timeoutMs);
}

async function must(
  what: string,
  p: Promise<{ code: number | null; out?: string; stderr?: string }>,
): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out ?? r.stderr ?? ''}`);
}

/**
 * The platform's networks the file names as external (the edge network) must
 * exist for compose; odp's engine makes them when missing, so do the same.
 */
async function externalNetworks(file: string, platform: string): Promise<void> {
  const doc = parse(await readFile(file, 'utf8'), { version: '1.1' }) as {
    networks?: Record<string, { external?: boolean; name?: string }>;
  };
  for (const [key, n] of Object.entries(doc.networks ?? {})) {
    if (!n.external) continue;
    const name = n.name ?? key;
    const found = await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) });
    if (found.some((x) => x.Name === name)) continue;
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'odp.platform': platform } });
  }
}

/** Nothing of the project is left: no container, network or volume, labelled or named. */
async function assertNothingLeft(p: TestPlatform, composeProject: string): Promise<void> {
  const odp = await labelled(p.project);
  const filters = (label: string) => JSON.stringify({ label: [label] });
  const compose = await docker.listContainers({
    all: true,
    filters: filters(`com.docker.compose.project=${composeProject}`),
  });
  const nets = (await docker.listNetworks()).filter((n) => n.Name === p.stack);
  const vols = ((await docker.listVolumes()).Volumes ?? []).filter((v) => v.Name === `${p.stack}-db`);
  const left = [
    ...odp.containers,
    ...odp.networks,
    ...odp.volumes,
    ...compose.map((c) => c.Names[0]),
    ...nets,
    ...vols,
  ];
  if (left.length > 0) throw new Error(`not torn down: ${JSON.stringify(left)}`);
}

/** Polls the engine until every container of the compose project is running and healthy. */
async function waitComposeHealthy(composeProject: string, expected: number): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  const filters = JSON.stringify({ label: [`com.docker.compose.project=${composeProject}`] });
  while (Date.now() < deadline) {
    const list = await docker.listContainers({ all: true, filters });
    const bad = list.find((c) => c.State !== 'running' || /\(unhealthy\)/.test(c.Status));
    if (bad) throw new Error(`${bad.Names[0]} is ${bad.State} ${bad.Status}`);
    if (list.length === expected && list.every((c) => /\(healthy\)/.test(c.Status))) return;
    await sleep(100);
  }
  throw new Error(`${composeProject} was not healthy within ${HEALTH_TIMEOUT_MS / 1000}s`);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const compose = await sh('docker-compose', ['version', '--short']);
  if (compose.code !== 0) throw new Error('docker-compose is not on PATH: run `bash scripts/ensure-env.sh`');
  console.log(`docker-compose ${compose.out.trim()}; building or finding the images…`);
  await setUp();
  const project = uniqueName('bench');
  const p = await makePlatform(project, { image: `odp-bench/${project}_odoo` });
  const composeProject = `${p.project}compose`;
  let composeArgs: string[] | undefined;
  try {
    await buildSampleImage(`${p.image}:latest`, '10.0.0');
    const out = await tempDir('odp-bench-compose-');
    await must(
      'odp render',
      odpCli(['-C', p.dir, 'render', p.project, 'test', '--format', 'compose', '--out', out], 60_000),
    );
    // Compose as before docs/decisions/0050: health checks every second. Compose 1.29
    // has no readiness of its own (no --wait, no start_interval), so with the
    // 30 s checks odp renders now its first `healthy` would come 30 s after each
    // start; the 1 s file keeps this column the reference it was (bench/legacy-health.ts).
    const file = path.join(out, 'docker-compose.before.yml');
    await writeLegacyComposeFile(path.join(out, 'docker-compose.yml'), file);
    await externalNetworks(file, p.platform);
    const args = ['-p', composeProject, '-f', file];
    composeArgs = args;
    // The units each side waits for: every service of the stack.
    const services = Object.keys(
      (parse(await readFile(file, 'utf8')) as { services: object }).services,
    ).length;

    const odpRun = async (): Promise<number> => {
      const s = await timed(() =>
        must('odp deploy', odpCli(['-C', p.dir, 'deploy', p.project, 'test'], HEALTH_TIMEOUT_MS + 60_000)),
      );
      const up = await labelled(p.project);
      if (up.containers.length !== services) throw new Error(`odp left ${up.containers.length} containers`);
      await must('odp destroy', odpCli(['-C', p.dir, 'destroy', p.project, 'test', '--yes'], 120_000));
      return s;
    };
    const composeRun = async (): Promise<number> => {
      const s = await timed(async () => {
        await must('docker-compose up', sh('docker-compose', [...args, 'up', '-d']));
        await waitComposeHealthy(composeProject, services);
      });
      await must('docker-compose down', sh('docker-compose', [...args, 'down', '-v', '--timeout', '10']));
      return s;
    };

    // Start-up costs, included in the runs: the compiled CLI (Node) and docker-compose (Python).
    const odpStart = await timed(() => must('odp --help', odpCli(['--help'])));
    const composeStart = await timed(() =>
      must('docker-compose version', sh('docker-compose', ['version', '--short'])),
    );

    console.log(
      `project ${p.project} (${services} services), ${RUNS} runs each, alternating, from nothing to all healthy`,
    );
    const runs: Run[] = [];
    await assertNothingLeft(p, composeProject);
    for (let i = 1; i <= RUNS; i++) {
      for (const tool of ['odp', 'compose'] as const) {
        const seconds = tool === 'odp' ? await odpRun() : await composeRun();
        await assertNothingLeft(p, composeProject);
        runs.push({ tool, seconds });
        console.log(`  run ${i} ${tool.padEnd(7)} ${seconds.toFixed(2)} s`);
      }
    }

    const of = (tool: Run['tool']) => runs.filter((r) => r.tool === tool).map((r) => r.seconds);
    const [o, c] = [of('odp'), of('compose')];
    const [mo, mc] = [median(o), median(c)];
    const row = (label: string, a: string, b: string) =>
      `| ${label.padEnd(8)} | ${a.padStart(9)} | ${b.padStart(17)} |`;
    console.log();
    console.log(row('run', 'odp (s)', 'compose 1.29 (s)'));
    console.log(`|${'-'.repeat(10)}|${'-'.repeat(10)}:|${'-'.repeat(18)}:|`);
    for (let i = 0; i < RUNS; i++) console.log(row(String(i + 1), o[i]!.toFixed(2), c[i]!.toFixed(2)));
    console.log(row('median', mo.toFixed(2), mc.toFixed(2)));
    console.log();
    console.log(`compose/odp = ${(mc / mo).toFixed(2)}  (>1 means odp is faster)`);
    console.log(
      `start-up included: odp CLI ${odpStart.toFixed(2)} s, docker-compose ${composeStart.toFixed(2)} s`,
    );
  } finally {
    if (composeArgs)
      await sh('docker-compose', [...composeArgs, 'down', '-v', '--timeout', '5']).catch(() => undefined);
    await cleanUp();
  }
}

await main();
