// Benchmark: what idle test instances cost the host, with the health checks odp
// renders now against those it rendered before docs/decisions/0050 (every
// second). N instances (1, 5, 10) side by side, each brought up by docker-compose
// 1.29 from the file `odp render PROJECT test --format compose` wrote (the "before"
// variant: the same file with bench/legacy-health.ts's health checks), left idle,
// then measured: CPU over the baseline from /proc/stat, the containers' own CPU
// from their cgroups, memory from the engine's container stats, and instances
// per core. See bench/README.md.
//
//   npm run bench:idle-density -- [--window 60] [--settle 10] [--n 1,5,10] [--variants before,now]
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import {
  buildSampleImage,
  cleanUp,
  docker,
  makePlatform,
  repoRoot,
  setUp,
  sleep,
  tempDir,
  uniqueName,
} from '../test/e2e/helpers.js';
import { writeLegacyComposeFile } from './legacy-health.js';

const { values: flags } = parseArgs({
  options: {
    window: { type: 'string', default: '60' },
    settle: { type: 'string', default: '10' },
    n: { type: 'string', default: '1,5,10' },
    variants: { type: 'string', default: 'before,now' },
  },
});
const WINDOW_S = Number(flags.window);
const SETTLE_S = Number(flags.settle);
const COUNTS = flags.n.split(',').map(Number);
const VARIANTS = flags.variants.split(',') as Variant[];
if (!(WINDOW_S > 0) || !(SETTLE_S >= 0) || COUNTS.some((n) => !(n >= 1 && n <= 20)))
  throw new Error('--window and --settle are seconds, --n counts from 1 to 20');
const HEALTHY_TIMEOUT_MS = 240_000;
const CORES = os.cpus().length;

type Variant = 'before' | 'now';

interface Instance {
  project: string;
  /** docker-compose arguments per variant: `-p NAME -f FILE`. */
  args: Record<Variant, string[]>;
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

async function must(what: string, p: Promise<{ code: number | null; out: string }>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out}`);
  return r.out;
}

const odpCli = (args: string[]) => sh(process.execPath, [path.join(repoRoot, 'bin/odp.js'), ...args]);

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
async function procStat(): Promise<{ busy: number; total: number }> {
  const first = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = first.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** CPU time (ns) a container used, from its cgroup: its processes and every health check exec'd in it. */
async function cgroupCpuNs(id: string): Promise<number> {
  for (const p of [
    `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`,
    `/sys/fs/cgroup/docker/${id}/cpu.stat`,
  ]) {
    try {
      const text = await readFile(p, 'utf8');
      const usec = /usage_usec (\d+)/.exec(text);
      return usec ? Number(usec[1]) * 1000 : Number(text.trim());
    } catch {
      // the other cgroup layout
    }
  }
  return 0;
}

/**
 * CPU seconds the engine's processes used so far: dockerd, containerd and the
 * containers' shims, with what the shims reaped (runc, once per check: the exec's
 * cost outside the container's cgroup). Shared with everyone on the host.
 */
async function daemonsCpuS(): Promise<Map<string, number>> {
  const tick = 100; // USER_HZ
  const byPid = new Map<string, number>();
  // `containerd-shim` is also the 15-character name of containerd-shim-runc-v2.
  for (const name of ['dockerd', 'containerd', 'containerd-shim']) {
    const pids = (await sh('pgrep', ['-x', name])).out.split('\n').filter(Boolean);
    for (const pid of pids) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, and the children's (cutime, cstime) that it has waited for
      byPid.set(pid, [11, 12, 13, 14].reduce((a, i) => a + Number(f[i] ?? 0), 0) / tick);
    }
  }
  return byPid;
}

/** CPU seconds between two readings, over the processes in both (a shim that came or went is not counted). */
function engineDelta(a: Map<string, number>, b: Map<string, number>): number {
  let sum = 0;
  for (const [pid, t] of b) if (a.has(pid)) sum += t - a.get(pid)!;
  return sum;
}

interface Window {
  /** % of one core, the whole machine. */
  machine: number;
  /** % of one core, our containers' cgroups. */
  containers: number;
  /** % of one core, dockerd, containerd and the shims with the runc processes they reaped. */
  daemons: number;
}

/** Measures over WINDOW_S seconds. */
async function measure(ids: string[]): Promise<Window> {
  const [s0, c0, d0] = [await procStat(), await Promise.all(ids.map(cgroupCpuNs)), await daemonsCpuS()];
  const t0 = process.hrtime.bigint();
  await sleep(WINDOW_S * 1000);
  const [s1, c1, d1] = [await procStat(), await Promise.all(ids.map(cgroupCpuNs)), await daemonsCpuS()];
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuNs = c1.reduce((a, b) => a + b, 0) - c0.reduce((a, b) => a + b, 0);
  return {
    machine: ((s1.busy - s0.busy) / (s1.total - s0.total)) * CORES * 100,
    containers: (cpuNs / 1e9 / seconds) * 100,
    daemons: (engineDelta(d0, d1) / seconds) * 100,
  };
}

/** Memory in use by the containers (usage less page cache, as `docker stats` shows it), MiB. */
async function memoryMiB(ids: string[]): Promise<number> {
  const each = await Promise.all(
    ids.map(async (id) => {
      const s = (await docker.getContainer(id).stats({ stream: false })) as {
        memory_stats: { usage?: number; stats?: Record<string, number> };
      };
      const st = s.memory_stats.stats ?? {};
      const cache = st.total_inactive_file ?? st.inactive_file ?? st.cache ?? 0;
      return (s.memory_stats.usage ?? 0) - cache;
    }),
  );
  return each.reduce((a, b) => a + b, 0) / 2 ** 20;
}

const composeFilter = (project: string) =>
  JSON.stringify({ label: [`com.docker.compose.project=${project}`] });

/**
 * Until every container of every instance runs and is healthy (compose 1.29 has no
 * --wait). On a saturated host the 1 s checks themselves time out and turn units
 * unhealthy: past the deadline the instances are measured as they are, and the
 * unhealthy ones counted.
 */
async function waitAllHealthy(
  instances: Instance[],
  variant: Variant,
): Promise<{ ids: string[]; unhealthy: number }> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const lists = await Promise.all(
      instances.map((i) => docker.listContainers({ all: true, filters: composeFilter(name(i, variant)) })),
    );
    const all = lists.flat();
    // A restart is no failure here: on a busy host an Odoo may give up waiting for its
    // database once, and `restart: unless-stopped` brings it back as it would in use.
    const bad = all.find((c) => c.State === 'dead');
    if (bad) throw new Error(`${bad.Names[0]} is ${bad.State} ${bad.Status}`);
    const unhealthy = all.filter((c) => /\(unhealthy\)/.test(c.Status)).length;
    if (Date.now() > deadline && lists.every((l) => l.length === 4)) {
      console.log(
        `  ${variant}: ${unhealthy} of ${all.length} containers unhealthy at the deadline; measured as they are`,
      );
      return { ids: all.map((c) => c.Id), unhealthy };
    }
    if (Date.now() > deadline) throw new Error(`not all containers of ${variant} exist within the deadline`);
    if (
      lists.every((l) => l.length === 4) &&
      all.every((c) => c.State === 'running' && /\(healthy\)/.test(c.Status))
    )
      return { ids: all.map((c) => c.Id), unhealthy: 0 };
    await sleep(500);
  }
}

const name = (i: Instance, v: Variant) => `${i.project}${v}`;

async function down(instances: Instance[], variant: Variant): Promise<void> {
  for (const i of instances)
    await must(
      'docker-compose down',
      sh('docker-compose', [...i.args[variant], 'down', '-v', '--timeout', '10']),
    );
}

interface Row {
  n: number;
  variant: Variant;
  baseline: number;
  /** The engine's own CPU in the baseline window (dockerd's housekeeping, others' containers). */
  engineBaseline: number;
  loaded: Window;
  memMiB: number;
  /** Containers unhealthy when measured (a saturated host failing 1 s checks). */
  unhealthy: number;
}

async function main(): Promise<void> {
  const compose = await sh('docker-compose', ['version', '--short']);
  if (compose.code !== 0) throw new Error('docker-compose is not on PATH: run `bash scripts/ensure-env.sh`');
  await must('npm run build', sh('npm', ['run', 'build']));
  console.log(
    `docker-compose ${compose.out.trim()}, ${CORES} cores; window ${WINDOW_S} s; building or finding the images…`,
  );
  await setUp();
  const image = `odp-bench/${uniqueName('idle')}_odoo`;
  const instances: Instance[] = [];
  const used: { i: Instance; v: Variant }[] = [];
  try {
    await buildSampleImage(`${image}:latest`, '10.0.0');
    for (let k = 0; k < Math.max(...COUNTS); k++) {
      const p = await makePlatform(uniqueName('idle'), { image });
      const out = await tempDir('odp-bench-idle-');
      await must(
        'odp render',
        odpCli(['-C', p.dir, 'render', p.project, 'test', '--format', 'compose', '--out', out]),
      );
      const now = path.join(out, 'docker-compose.yml');
      const before = path.join(out, 'docker-compose.before.yml');
      await writeLegacyComposeFile(now, before);
      // The platform's edge network, external in the file: odp's engine would make it.
      const doc = parse(await readFile(now, 'utf8'), { version: '1.1' }) as {
        networks: Record<string, { external?: boolean; name: string }>;
      };
      for (const n of Object.values(doc.networks).filter((x) => x.external))
        await docker.createNetwork({
          Name: n.name,
          Driver: 'bridge',
          Labels: { 'odp.platform': p.platform },
        });
      const inst: Instance = { project: p.project, args: { before: [], now: [] } };
      inst.args = {
        before: ['-p', name(inst, 'before'), '-f', before],
        now: ['-p', name(inst, 'now'), '-f', now],
      };
      instances.push(inst);
    }

    const rows: Row[] = [];
    for (const n of COUNTS) {
      for (const variant of VARIANTS) {
        const some = instances.slice(0, n);
        const before = await measure([]);
        const [baseline, engineBaseline] = [before.machine, before.daemons];
        for (const i of some) {
          used.push({ i, v: variant });
          await must('docker-compose up', sh('docker-compose', [...i.args[variant], 'up', '-d']));
        }
        const { ids, unhealthy } = await waitAllHealthy(some, variant);
        await sleep(SETTLE_S * 1000); // start-up work (Odoo's setup) ends; then the instances are idle
        const loaded = await measure(ids);
        const memMiB = await memoryMiB(ids);
        await down(some, variant);
        const row = { n, variant, baseline, engineBaseline, loaded, memMiB, unhealthy };
        rows.push(row);
        console.log(
          `N=${n} ${variant}: machine ${loaded.machine.toFixed(1)} % (baseline ${baseline.toFixed(1)} %), ` +
            `containers ${loaded.containers.toFixed(1)} %, engine ${loaded.daemons.toFixed(1)} % (baseline ${engineBaseline.toFixed(1)} %), ${memMiB.toFixed(0)} MiB` +
            (unhealthy ? `, ${unhealthy} unhealthy` : ''),
        );
      }
    }
    print(rows);
  } finally {
    for (const { i, v } of used) await sh('docker-compose', [...i.args[v], 'down', '-v', '--timeout', '5']);
    await cleanUp();
  }
}

function print(rows: Row[]): void {
  const per = (r: Row) => ({
    overBaseline: (r.loaded.machine - r.baseline) / r.n,
    containers: r.loaded.containers / r.n,
    daemons: Math.max(0, r.loaded.daemons - r.engineBaseline) / r.n,
    mem: r.memMiB / r.n,
  });
  // Instances per core from what is attributable to them (their cgroups and the engine's
  // daemons): on a machine others keep busy (a baseline near 200 %), the difference of
  // two /proc/stat windows says nothing, these still do.
  const cost = (r: Row) => per(r).containers + per(r).daemons;
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log();
  console.log('Per idle test instance (CPU in % of one core):');
  console.log(
    '|  N | health checks | CPU over baseline | its containers | engine over its baseline (daemons, shims, runc) | memory (MiB) | instances per core |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const p = per(r);
    const perCore = f(100 / cost(r), 0);
    console.log(
      `| ${String(r.n).padStart(2)} | ${r.variant === 'before' ? 'every 1 s (before)' : 'every 60 s (now)'} | ` +
        `${f(p.overBaseline)} | ${f(p.containers, 2)} | ${f(p.daemons, 2)} | ${f(p.mem, 0)} | ${perCore} |`,
    );
  }
  console.log();
  for (const n of COUNTS) {
    const b = rows.find((r) => r.n === n && r.variant === 'before');
    const w = rows.find((r) => r.n === n && r.variant === 'now');
    if (!b || !w) continue;
    const [pb, pw] = [per(b), per(w)];
    const ratio = (x: number, y: number) => (y > 0 ? `${f(x / y)}×` : 'n/a');
    console.log(
      `N=${n}: before/now CPU over baseline ${ratio(pb.overBaseline, pw.overBaseline)}, ` +
        `containers + daemons ${ratio(cost(b), cost(w))}, memory ${ratio(pb.mem, pw.mem)}`,
    );
  }
  console.log(`baselines (machine, % of one core): ${rows.map((r) => f(r.baseline)).join(', ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
