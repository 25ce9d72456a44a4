// Every edge of a platform driven as one: a platform with several edge hosts
// (behind DNS or a floating address) runs one edge on each, and each must route
// the same domains with the same certificates and challenges. A release is
// staged on all of them under one id, checked on all, then made live on all.
//
// An edge whose unit is not running (its host lost, or stopped) is skipped, and
// said: losing one edge host must not stop deploys through the others. One that
// runs and fails fails the operation, as a single edge does. When none runs, all
// are tried, so the error is the one a single stopped edge gives (bring it up).
import type { Engine } from '../../engines/engine.js';
import type { Secret } from '../../secret.js';
import { Edge, releaseId, type EdgeApplied } from './edge.js';

export interface EdgeMember {
  unit: string;
  host: string;
}

export class EdgeSet {
  private readonly edges: { member: EdgeMember; edge: Edge }[];
  /** Edges left out because they were not running, by unit, with their host. */
  readonly skipped = new Map<string, string>();

  constructor(
    private readonly engine: Engine,
    members: readonly EdgeMember[],
  ) {
    this.edges = members.map((member) => ({ member, edge: new Edge(engine, member.unit) }));
  }

  /** The first edge (the only one on a platform of one edge host). */
  get first(): Edge {
    return this.edges[0]!.edge;
  }

  /** One release staged on every running edge, under one id. */
  async stage(
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme?: ReadonlyMap<string, string>,
    maintenance?: readonly string[],
  ): Promise<string> {
    const id = releaseId();
    await this.each((e) => e.stage(cfg, certs, acme, maintenance, id));
    return id;
  }

  /** HAProxy's check on every edge that staged it; their warnings, once each. */
  async check(id: string): Promise<string[]> {
    return [...new Set((await this.each((e) => e.check(id))).flatMap((r) => r.value))];
  }

  /** Live on every edge; the first edge's release and workers. */
  async activate(id: string): Promise<Omit<EdgeApplied, 'warnings'>> {
    return (await this.each((e) => e.activate(id)))[0]!.value;
  }

  /** What every edge loads at its next start, without a reload (Edge.keep). */
  keep(id: string): Promise<void> {
    return this.each((e) => e.keep(id)).then(() => undefined);
  }

  setMaintenance(domain: string, on: boolean): Promise<void> {
    return this.each((e) => e.setMaintenance(domain, on)).then(() => undefined);
  }

  setChallenge(token: string, keyAuth: string): Promise<void> {
    return this.each((e) => e.setChallenge(token, keyAuth)).then(() => undefined);
  }

  removeChallenge(token: string): Promise<void> {
    return this.each((e) => e.removeChallenge(token)).then(() => undefined);
  }

  /** Runtime API commands on every running edge; each edge's answer. */
  async runtime(commands: readonly string[]): Promise<{ unit: string; answer: string }[]> {
    return (await this.each((e) => e.runtime(commands))).map((r) => ({ unit: r.unit, answer: r.value }));
  }

  /** What was skipped, as warnings a command prints. */
  warnings(): string[] {
    return [...this.skipped].map(
      ([unit, host]) =>
        `the edge on ${host} (${unit}) is not running and was not updated; once it is back, odp platform up brings it in step`,
    );
  }

  /** The units that are running (all of them when none is: their errors then say so). */
  async live(): Promise<EdgeMember[]> {
    const states = await Promise.all(this.edges.map((x) => this.running(x.member.unit)));
    const live = this.edges.filter((_, i) => states[i]).map((x) => x.member);
    return live.length > 0 ? live : this.edges.map((x) => x.member);
  }

  private async running(unit: string): Promise<boolean> {
    return (await this.engine.explain(unit).catch(() => undefined))?.running === true;
  }

  /**
   * `fn` on every running edge at once. An edge that fails and turns out not to
   * be running (its host went while this ran) is skipped too; any other failure
   * is thrown once all have settled, so no edge is left mid-step unawaited.
   */
  private async each<T>(fn: (e: Edge) => Promise<T>): Promise<{ unit: string; value: T }[]> {
    const live = new Set((await this.live()).map((m) => m.unit));
    const targets = this.edges.filter((x) => live.has(x.member.unit));
    for (const x of this.edges) if (!live.has(x.member.unit)) this.skipped.set(x.member.unit, x.member.host);
    const settled = await Promise.allSettled(targets.map((x) => fn(x.edge)));
    const done: { unit: string; value: T }[] = [];
    let failure: unknown;
    for (const [i, r] of settled.entries()) {
      const { unit, host } = targets[i]!.member;
      if (r.status === 'fulfilled') done.push({ unit, value: r.value });
      else if (targets.length > 1 && !(await this.running(unit))) this.skipped.set(unit, host);
      else failure ??= r.reason;
    }
    if (failure !== undefined) throw failure;
    // Every edge tried went away meanwhile: nothing took the step.
    const first = settled.find((r) => r.status === 'rejected');
    if (done.length === 0 && first) throw first.reason;
    return done;
  }
}
