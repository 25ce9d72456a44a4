// Benchmark: odp on a platform of N projects (10, 100, 1,000), so that growth
// is visible: check without secrets, with a passphrase file and in recipients
// mode (the platform's key), render, status planning. See bench/README.md for
// what each column measures and the peer.
//
//   npm run bench:fleet
//   FLEET_SIZES=10,100 FLEET_RUNS=5 npm run bench:fleet
//   FLEET_BASELINE=/path/to/other/checkout npm run bench:fleet   # adds its CLI's times ("before")
//   FLEET_PEER=off npm run bench:fleet                           # without the docker-compose peer
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeStack } from '../src/compose/stack.js';
import type { Observed } from '../src/engines/engine.js';
import { planStack } from '../src/plan/plan.js';
import { loadPlatformDir } from '../src/platformdir/load.js';
import { renderComposeFile } from '../src/render/compose-file.js';
import { instanceNames } from '../src/platform-spec/instance-names.js';
import { FLEET_KEY_FILE, FLEET_KEY_PASSPHRASE, fleetCopy, makeFleet } from './fleet-platform.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const sizes = (process.env.FLEET_SIZES ?? '10,100,1000').split(',').map(Number);
const runs = Number(process.env.FLEET_RUNS ?? 3);
const baseline = process.env.FLEET_BASELINE;
const passphrase = 'odp-demo';
const compose = '/usr/bin/docker-compose';
/** docker-compose starts a Python interpreter per file: a sample, scaled, above this many files. */
const peerSample = 30;

interface Timing {
  wall: number;
  cpu: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medianTiming = (ts: Timing[]): Timing => ({
  wall: median(ts.map((t) => t.wall)),
  cpu: median(ts.map((t) => t.cpu)),
});

/**
 * One process, its wall time and CPU time (user + system, from /usr/bin/time: on a
 * shared machine the wall time varies with the load, the CPU time much less).
 * Detached: a new session has no terminal, so no passphrase prompt can hang a run.
 */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, expectCode = 0): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S', cmd, ...args], {
      env,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (code !== expectCode || !m) {
        return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`));
      }
      resolve({ wall, cpu: Number(m[1]) + Number(m[2]) });
    });
  });
}

async function repeat(f: () => Promise<Timing>): Promise<Timing> {
  const ts: Timing[] = [];
  for (let i = 0; i < runs; i++) ts.push(await f());
  return medianTiming(ts);
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.ODP_PASSPHRASE;
  delete env.ODP_DIR;
  return env;
};
const odp = (bin: string, args: string[], env = baseEnv()) =>
  repeat(() => timeProcess(process.execPath, [join(bin, 'bin/odp.js'), ...args], env));

/** In-process, median of the runs: what `odp render` and `odp status` compute, for every instance. */
async function inProcess(
  dir: string,
  outDir?: string,
): Promise<{ render: number; plan: number; files: string[] }> {
  const pd = await loadPlatformDir(dir);
  const empty: Observed = { units: [], networks: [], volumes: [] };
  const renders: number[] = [];
  const plans: number[] = [];
  const files: string[] = [];
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    const rendered: [string, string][] = [];
    for (const p of pd.projects.values()) {
      for (const name of instanceNames) {
        if (!p.spec.instances[name]) continue;
        // As `odp render P I` prints it without a passphrase: secrets masked.
        const { stack } = composeStack(pd.platform, p.spec, name, new Map());
        rendered.push([`${p.spec.name}-${name}`, renderComposeFile(stack, { secrets: 'mask' })]);
      }
    }
    renders.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (const p of pd.projects.values()) {
      for (const name of instanceNames) {
        if (!p.spec.instances[name]) continue;
        // The pure part of `odp status` / a deploy's dry run: compose, then plan against nothing running.
        const { stack } = composeStack(pd.platform, p.spec, name, new Map());
        planStack({ stack, imageIds: {}, observed: empty, freshOnChange: name === 'test' });
      }
    }
    plans.push((performance.now() - t0) / 1000);
    if (outDir && r === 0) {
      for (const [stem, text] of rendered) {
        const d = join(outDir, stem);
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, 'docker-compose.yml'), text);
        files.push(join(d, 'docker-compose.yml'));
      }
    }
  }
  return { render: median(renders), plan: median(plans), files };
}

/** docker-compose 1.29 validating each rendered file (`config -q`), two at a time (two cores). */
async function peer(files: string[]): Promise<{ wall: number; cpu: number; sampled: boolean } | undefined> {
  if (!existsSync(compose) || process.env.FLEET_PEER === 'off') return undefined;
  const step = Math.max(1, Math.floor(files.length / peerSample));
  const chosen =
    files.length > peerSample ? files.filter((_, i) => i % step === 0).slice(0, peerSample) : files;
  const t0 = performance.now();
  let cpu = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chosen.length; i = next++) {
      cpu += (await timeProcess(compose, ['-f', chosen[i]!, 'config', '-q'], process.env)).cpu;
    }
  };
  await Promise.all([worker(), worker()]);
  const scale = files.length / chosen.length;
  return { wall: ((performance.now() - t0) / 1000) * scale, cpu: cpu * scale, sampled: scale > 1 };
}

const s = (t: number) => t.toFixed(2);
const st = (t: Timing) => `${s(t.wall)} (${s(t.cpu)})`;
/** How many times faster `now` is than `then`, by wall (and CPU) time. */
const x = (then: Timing, now: Timing) =>
  `${(then.wall / now.wall).toFixed(1)}× (${(then.cpu / now.cpu).toFixed(1)}×)`;

async function main(): Promise<void> {
  console.log(
    `odp fleet benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${new Date().toISOString().slice(0, 16)}Z, median of ${runs} runs`,
  );
  console.log('building the CLI (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: 'inherit' });

  const tmp = mkdtempSync(join(tmpdir(), 'odp-fleet-'));
  try {
    const source = join(tmp, 'source');
    const max = Math.max(...sizes);
    let t0 = performance.now();
    await makeFleet(source, max, passphrase);
    console.log(
      `generated ${max} projects in ${s((performance.now() - t0) / 1000)} s (made once, copied per size)`,
    );
    const passFile = join(tmp, 'passphrase');
    writeFileSync(passFile, `${passphrase}\n`, { mode: 0o600 });
    // Recipients mode as CI or `odp serve` runs it: the platform's private key, its passphrase in the environment.
    const keyEnv = {
      ...baseEnv(),
      ODP_KEY_FILE: join(source, FLEET_KEY_FILE),
      ODP_KEY_PASSPHRASE: FLEET_KEY_PASSPHRASE,
    };
    // --require-secrets: a run that skipped the secrets would exit 4, not be timed as one that read them.
    const withPassFile = ['check', '--require-secrets', '--passphrase-file', passFile];
    const withKey = ['check', '--require-secrets'];

    const example = join(repo, 'examples/platform');
    const node = await repeat(() => timeProcess(process.execPath, ['-e', '0'], process.env));
    const help = await odp(repo, ['--help']);
    const exampleCheck = await odp(repo, ['-C', example, ...withPassFile]);
    const before = baseline
      ? {
          help: await odp(baseline, ['--help']),
          exampleCheck: await odp(baseline, ['-C', example, ...withPassFile]),
        }
      : undefined;

    const rows: string[] = [];
    const beforeRows: string[] = [];
    for (const n of sizes) {
      const dir = join(tmp, `fleet-${n}`);
      const rdir = join(tmp, `fleet-${n}-recipients`);
      t0 = performance.now();
      fleetCopy(source, dir, n);
      fleetCopy(source, rdir, n, 'recipients');
      const total = n + 1; // and the example's neomedical
      console.log(`N=${n}: platform ready in ${s((performance.now() - t0) / 1000)} s; timing…`);
      const bare = await odp(repo, ['-C', dir, 'check']);
      const secret = await odp(repo, ['-C', dir, ...withPassFile]);
      const recipients = await odp(repo, ['-C', rdir, ...withKey], keyEnv);
      const one = await odp(repo, ['-C', dir, 'render', 'p0001', 'prod']);
      const { render, plan, files } = await inProcess(dir, join(tmp, `rendered-${n}`));
      const p = await peer(files);
      const peerCell = p ? `${s(p.wall)} (${s(p.cpu)})${p.sampled ? ' est.' : ''}` : 'not run';
      const ratio = p ? `${(p.wall / bare.wall).toFixed(1)} (${(p.cpu / bare.cpu).toFixed(1)})` : '–';
      rows.push(
        `| ${total} | ${st(bare)} | ${st(secret)} | ${st(recipients)} | ${st(one)} | ${s(render)} | ${s(plan)} | ${peerCell} | ${ratio} |`,
      );
      if (baseline) {
        const bBare = await odp(baseline, ['-C', dir, 'check']);
        const bSecret = await odp(baseline, ['-C', dir, ...withPassFile]);
        const bRecipients = await odp(baseline, ['-C', rdir, ...withKey], keyEnv);
        beforeRows.push(
          `| ${total} | ${st(bBare)} | ${st(bSecret)} | ${st(bRecipients)} | ${x(bBare, bare)} | ${x(bSecret, secret)} | ${x(bRecipients, recipients)} |`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(rdir, { recursive: true, force: true });
    }

    console.log(`
seconds, wall (CPU user+system); CLI rows are whole processes, in-process rows the work alone

| projects | check, no passphrase | check, passphrase file | check, recipients (key file) | render one instance (CLI) | render every instance (in-process) | status planning, every instance (in-process) | docker-compose config -q, every instance | compose/odp check |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

node -e 0: ${st(node)}   odp --help: ${st(help)}   odp check, example platform with passphrase file: ${st(exampleCheck)}`);
    if (before) {
      console.log(`
before (${baseline}), same run:
odp --help: ${st(before.help)}, ${x(before.help, help)} faster now   example check: ${st(before.exampleCheck)}, ${x(before.exampleCheck, exampleCheck)}

| projects | before: check, no passphrase | before: check, passphrase file | before: check, recipients | now faster by, no passphrase | now faster by, passphrase | now faster by, recipients |
|---:|---:|---:|---:|---:|---:|---:|
${beforeRows.join('\n')}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
