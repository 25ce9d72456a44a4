// Losing a swarm node under load, measured: a load of concurrent sequential
// requests through an edge on loopback, the node's fault (killed, frozen, cut
// off from the swarm), the instant the edge stops sending to it (its server
// slot leaves UP in the edge's own state), and what each request saw.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, execIn } from './helpers.js';
import { viaEdge } from '../helpers/edge.js';
import type { TestNode } from './swarm-cluster.js';

export type FaultKind = 'kill' | 'pause' | 'partition';

/** The ports a swarm node talks on (swarm-facts.md): the manager's, gossip, VXLAN. */
const CUT_RULES = [
  ['tcp', '2377'],
  ['tcp', '7946'],
  ['udp', '7946'],
  ['udp', '4789'],
].flatMap(([proto, port]) => [
  `iptables -A odp-cut -p ${proto} --dport ${port} -j DROP`,
  `iptables -A odp-cut -p ${proto} --sport ${port} -j DROP`,
]);

async function inNode(node: TestNode, script: string): Promise<void> {
  const r = await execIn(node.container, ['sh', '-ec', script]);
  if (r.code !== 0) throw new Error(`${node.container}: ${script} exited ${r.code}: ${r.out}`);
}

/** Every process under `root` (this machine's PIDs), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // `pid (comm) state ppid …`: comm may hold spaces, so read after its last ')'.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parent.set(Number(entry), ppid);
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(under);
}

/**
 * Freezes (or thaws) the node: `docker pause` freezes its container's cgroup,
 * which on docker-in-docker holds its engine but not its tasks' containers (the
 * inner engine makes their cgroups beside the node's, not under it). A hung
 * machine runs nothing: the tasks' processes are stopped too (SIGSTOP), and
 * continued when it thaws.
 */
async function freeze(node: TestNode, on: boolean): Promise<void> {
  const c = docker.getContainer(node.container);
  const { State } = await c.inspect();
  const signal = (pids: number[]) =>
    pids.forEach((pid) => {
      try {
        process.kill(pid, on ? 'SIGSTOP' : 'SIGCONT');
      } catch {
        // Gone meanwhile.
      }
    });
  if (on) {
    // Twice: a process started while the first pass ran is caught by the second.
    for (let i = 0; i < 2; i++) signal(await descendants(State.Pid));
    await c.pause();
  } else {
    await c.unpause();
    signal(await descendants(State.Pid));
  }
}

/** The fault, done to the node's container as an operator's machine would suffer it. */
export async function inflict(kind: FaultKind, node: TestNode): Promise<void> {
  const c = docker.getContainer(node.container);
  if (kind === 'kill') await c.kill();
  else if (kind === 'pause') await freeze(node, true);
  else
    await inNode(
      node,
      [
        'iptables -N odp-cut',
        ...CUT_RULES,
        'iptables -I INPUT -j odp-cut',
        'iptables -I OUTPUT -j odp-cut',
      ].join('\n'),
    );
}

/** The node back: started again (its engine state kept), thawed, or reconnected. */
export async function heal(kind: FaultKind, node: TestNode): Promise<void> {
  const c = docker.getContainer(node.container);
  if (kind === 'kill') await c.start();
  else if (kind === 'pause') await freeze(node, false);
  else
    await inNode(
      node,
      'iptables -D INPUT -j odp-cut\niptables -D OUTPUT -j odp-cut\niptables -F odp-cut\niptables -X odp-cut',
    );
}

export interface Sent {
  start: number;
  end: number;
  ok: boolean;
  detail: string;
}

/**
 * `concurrency` loops, each sending its next request when the last one ended,
 * to the edge on 127.0.0.1:`port`; at most `max` requests in all. A request
 * waits up to `timeoutMs` of silence: a frozen node's requests finish when it
 * thaws, a dead one's never do.
 */
export function startLoad(o: {
  port: number;
  domain: string;
  concurrency: number;
  max: number;
  timeoutMs: number;
}): { sent: Sent[]; okSince(t: number): number; done: Promise<Sent[]>; stop(): Promise<Sent[]> } {
  const sent: Sent[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped && sent.length < o.max) {
      const start = Date.now();
      const r = await viaEdge(o.port, o.domain, '/web/version', { timeoutMs: o.timeoutMs });
      sent.push({
        start,
        end: Date.now(),
        ok: r.status === 200,
        detail: `${r.status || r.code} ${r.body.slice(0, 60)}`,
      });
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, loop)).then(() => sent);
  return {
    sent,
    okSince: (t) => sent.filter((s) => s.ok && s.start >= t).length,
    /** Once `max` requests were sent and answered (or stopped). */
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/** Polls `fn` every `everyMs` until it holds; the instant it first did, or undefined at the deadline. */
export async function when(
  fn: () => Promise<boolean>,
  deadlineMs: number,
  everyMs = 200,
): Promise<number | undefined> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return Date.now();
    await sleep(everyMs);
  }
  return undefined;
}

export interface FaultReport {
  kind: FaultKind;
  sent: number;
  failed: number;
  /** Failed requests that were under way when the fault struck (sent before its call returned). */
  inFlight: number;
  /** Failed requests sent after the fault: the goal is none. */
  failedAfter: Sent[];
  /** Answered, but after more than 2 s: sent to the node before the edge took it out. */
  delayed: number;
  offSeconds: number;
  backSeconds: number;
}

export function report(
  kind: FaultKind,
  sent: Sent[],
  /** `fault` … `faultDone`: the fault's own call (the node died somewhere in it). */
  t: { fault: number; faultDone: number; off: number; healed: number; back: number },
): FaultReport {
  const failed = sent.filter((s) => !s.ok);
  // A request sent while the fault's call ran may have reached the node before it died.
  const inFlight = failed.filter((s) => s.start < t.faultDone).length;
  return {
    kind,
    sent: sent.length,
    failed: failed.length,
    inFlight,
    failedAfter: failed.filter((s) => s.start >= t.faultDone),
    delayed: sent.filter((s) => s.ok && s.end - s.start > 2000).length,
    offSeconds: (t.off - t.fault) / 1000,
    backSeconds: (t.back - t.healed) / 1000,
  };
}

export function describe(r: FaultReport): string {
  return (
    `node ${r.kind}: ${r.sent} requests sent, ${r.failed} failed (${r.inFlight} of them in flight at the fault), ` +
    `${r.delayed} answered after more than 2 s, ` +
    `traffic off the lost node ${r.offSeconds.toFixed(1)} s after the fault, ` +
    `back to the spec's shape ${r.backSeconds.toFixed(1)} s after the node returned`
  );
}
