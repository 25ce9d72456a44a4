// The single-host engine: Docker Engine through its API (dockerode). One
// container per unit; state is read back from labels, never remembered.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { makeDocker } from './client.js';
import {
  LABEL,
  labelledUnit,
  type Engine,
  type ExecOptions,
  type Endpoint,
  type ExecResult,
  type Health,
  type LogOptions,
  type Observed,
  type ObservedUnit,
  type OneOffResult,
  type ReadinessProbe,
  type RunState,
  type Selector,
  type UnitExplanation,
  type UnitFile,
  type UnitSpec,
  type WaitOptions,
} from '../engine.js';
import { containerSpec, featuresOf, healthCommand, type EngineFeatures } from './container-spec.js';
import { waitReady } from './ready.js';
import { demuxBuffer, demuxStream, parseSince } from './logs.js';
import { ignore404, messageOf, statusOf } from './api-errors.js';
import { execIn } from './exec.js';
import { publishedEndpoint } from './endpoint.js';
import { putFiles } from './archive.js';
import { heldEntrypoint, release, startHeld } from './parked-task.js';

export class DockerEngine implements Engine {
  readonly kind = 'docker' as const;

  constructor(readonly docker: Dockerode = makeDocker()) {}

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (e) {
      throw new OdpError('ENGINE', 'the Docker engine does not answer', {
        cause: e,
        hint: 'Start it (dockerd), or point DOCKER_HOST at one; `npm run demo` starts one for you.',
      });
    }
  }

  async observe(sel: Selector): Promise<Observed> {
    const label = [`${LABEL.platform}=${sel.platform}`];
    if (sel.project) label.push(`${LABEL.project}=${sel.project}`);
    if (sel.instance) label.push(`${LABEL.instance}=${sel.instance}`);
    const [containers, networks, volumes] = await Promise.all([
      this.docker.listContainers({ all: true, filters: { label } }),
      this.docker.listNetworks({ filters: { label } }),
      this.docker.listVolumes({ filters: { label } }),
    ]);
    const units = await Promise.all(containers.map((c) => this.unit(c)));
    return {
      units,
      networks: networks.map((n) => n.Name),
      volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    };
  }

  private async unit(c: Dockerode.ContainerInfo): Promise<ObservedUnit> {
    const l = c.Labels;
    const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1];
    const ports: Record<number, number> = {};
    for (const p of c.Ports) if (p.PublicPort) ports[p.PrivatePort] = p.PublicPort;
    return {
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      ...labelledUnit(l),
      // A container whose tag moved on shows the old image's id as its image: keep
      // the name we asked for (its label) so people read a tag, not a digest.
      image: l[LABEL.image] ?? c.Image,
      imageId: c.ImageID,
      state: c.State as RunState,
      health: (health === 'health: starting' ? 'starting' : (health ?? 'none')) as Health,
      createdAt: new Date(c.Created * 1000),
      ports,
    };
  }

  async resolveImage(ref: string): Promise<string | undefined> {
    const local = await this.imageId(ref);
    if (local) return local;
    try {
      const stream = await this.docker.pull(ref);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
      );
    } catch {
      return undefined; // not present and not pullable: the caller says so, before changing anything
    }
    return this.imageId(ref);
  }

  private async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Docker allows two networks with one name; units starting in parallel must not make both. */
  private readonly creatingNetworks = new Map<string, Promise<void>>();

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const pending = this.creatingNetworks.get(name);
    if (pending) return pending;
    const p = (async () => {
      const found = await this.docker.listNetworks({ filters: { name: [name] } });
      if (found.some((n) => n.Name === name)) return;
      await this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
      // Another odp process may have created it at the same moment (CheckDuplicate
      // is best effort): keep the oldest, so the name resolves to exactly one.
      const same = (await this.docker.listNetworks({ filters: { name: [name] } }))
        .filter((n) => n.Name === name)
        .sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
      for (const extra of same.slice(1))
        await ignore404(() => this.docker.getNetwork(extra.Id).remove()).catch(() => undefined);
    })().finally(() => this.creatingNetworks.delete(name));
    this.creatingNetworks.set(name, p);
    return p;
  }

  async removeNetwork(name: string): Promise<void> {
    await ignore404(() => this.docker.getNetwork(name).remove());
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.docker.createVolume({ Name: name, Labels: labels });
  }

  async removeVolume(name: string): Promise<void> {
    await ignore404(() => this.docker.getVolume(name).remove());
  }

  private featuresOnce: Promise<EngineFeatures> | undefined;

  /** What this engine supports, read once from its API version. */
  features(): Promise<EngineFeatures> {
    this.featuresOnce ??= this.docker.version().then(
      (v) => featuresOf(v.ApiVersion),
      (e: unknown) => {
        this.featuresOnce = undefined; // not known yet: ask again next time
        throw new OdpError('ENGINE', `the Docker engine does not say its version: ${messageOf(e)}`, {
          cause: e,
        });
      },
    );
    return this.featuresOnce;
  }

  async run(spec: UnitSpec): Promise<string> {
    const id = await this.create(spec);
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      await this.docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
      throw new OdpError('ENGINE', `could not start ${containerSpec(spec).name}: ${messageOf(e)}`, {
        cause: e,
      });
    }
    return id;
  }

  async create(spec: UnitSpec): Promise<string> {
    return (await this.createContainer(spec, containerSpec(spec, await this.features()))).id;
  }

  /** Creates the container and attaches its external networks; removed again if that fails. */
  private async createContainer(
    spec: UnitSpec,
    body: Dockerode.ContainerCreateOptions,
  ): Promise<Dockerode.Container> {
    const container = await this.docker.createContainer(body);
    try {
      for (const net of spec.service.externalNetworks) {
        // The edge network exists before the edge does, so an instance can be deployed first.
        await this.ensureNetwork(net.name, { [LABEL.platform]: spec.service.labels[LABEL.platform] ?? '' });
        // Legacy links on a user-defined network: `db` resolves to the tier's
        // PostgreSQL for this container only, as Rancher's external_links did.
        const links = Object.entries(net.aliases).map(([alias, target]) => `${target}:${alias}`);
        await this.docker.getNetwork(net.name).connect({
          Container: container.id,
          EndpointConfig: { Links: links, ...(net.answersAs ? { Aliases: net.answersAs } : {}) },
        });
      }
    } catch (e) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw new OdpError('ENGINE', `could not create ${body.name ?? 'a unit'}: ${messageOf(e)}`, {
        cause: e,
      });
    }
    return container;
  }

  async remove(unit: string, stopTimeoutSeconds = 30): Promise<void> {
    const c = this.docker.getContainer(unit);
    await ignore404(() =>
      c.stop({ t: stopTimeoutSeconds }).catch((e) => (statusOf(e) === 304 ? undefined : Promise.reject(e))),
    );
    await ignore404(() => c.remove({ force: true, v: true })); // v: the anonymous volumes of its image's VOLUMEs too
  }

  exec(unit: string, command: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execIn(this.docker, unit, command, opts);
  }

  stop(unit: string, timeoutSeconds = 30): Promise<void> {
    return this.changeState(unit, 'stop', (c) => c.stop({ t: timeoutSeconds }));
  }

  start(unit: string): Promise<void> {
    return this.changeState(unit, 'start', (c) => c.start());
  }

  /** Stop or start; Docker's 304 (already in that state) is success. */
  private async changeState(
    unit: string,
    verb: 'stop' | 'start',
    act: (c: Dockerode.Container) => Promise<unknown>,
  ): Promise<void> {
    try {
      await act(this.docker.getContainer(unit));
    } catch (e) {
      if (statusOf(e) === 304) return;
      throw new OdpError(
        statusOf(e) === 404 ? 'NOT_FOUND' : 'ENGINE',
        `cannot ${verb} ${unit}: ${messageOf(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  async runTask(spec: UnitSpec, command: string[]): Promise<OneOffResult> {
    const name = await this.createTask(spec, command);
    try {
      return await this.startTask(name);
    } finally {
      await this.docker
        .getContainer(name)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
  }

  /** Tasks created and held (parked-task.ts), by name: what startTask lets go. */
  private readonly held = new Map<string, NodeJS.ReadWriteStream>();

  async createTask(spec: UnitSpec, command: string[]): Promise<string> {
    const body = containerSpec({ ...spec, publish: [] });
    const c = await this.createContainer(spec, {
      ...body,
      ...(await heldEntrypoint(this.docker, spec.service.image)),
      Cmd: command,
      Healthcheck: { Test: ['NONE'] },
      HostConfig: { ...body.HostConfig, RestartPolicy: { Name: 'no' } },
    });
    try {
      this.held.set(body.name!, await startHeld(c));
    } catch (e) {
      await c.remove({ force: true, v: true }).catch(() => undefined);
      throw new OdpError('ENGINE', `could not start ${body.name!}: ${messageOf(e)}`, { cause: e });
    }
    return body.name!;
  }

  async startTask(name: string): Promise<OneOffResult> {
    const c = this.docker.getContainer(name);
    const held = this.held.get(name);
    this.held.delete(name);
    // One made by another process exited when that process's hold on it ended.
    if (!held) throw new OdpError('INTERNAL', `task ${name} was not made by this process`);
    release(held);
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const output = demuxBuffer((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    return { exitCode: StatusCode, output };
  }

  waitReady(unit: string, probe: ReadinessProbe | undefined, opts: WaitOptions): Promise<void> {
    // Container addresses are reachable from the engine's own host: probe from here
    // when the engine is local (its unix socket), from inside the unit otherwise.
    const probeFromHost = Boolean((this.docker.modem as { socketPath?: unknown }).socketPath);
    return waitReady(this.docker, unit, probe, { ...opts, probeFromHost }, (n) => this.lastLogs(unit, n));
  }

  async runOneOff(image: string, command: string[], env: Record<string, string> = {}): Promise<OneOffResult> {
    const c = await this.docker.createContainer({
      Image: image,
      Cmd: command,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { 'odp.one-off': 'true' },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      const output = demuxBuffer((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
      return { exitCode: StatusCode, output };
    } finally {
      await c.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async logs(unit: string, opts: LogOptions): Promise<NodeJS.ReadableStream> {
    const c = this.docker.getContainer(unit);
    const since = opts.since ? parseSince(opts.since) : 0;
    const common = {
      stdout: true,
      stderr: true,
      timestamps: false,
      since,
      ...(opts.tail ? { tail: opts.tail } : {}),
    };
    if (opts.follow) return demuxStream(this.docker, await c.logs({ ...common, follow: true }));
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.end(demuxBuffer((await c.logs({ ...common, follow: false })) as unknown as Buffer));
    return out;
  }

  async address(unit: string, network: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getContainer(unit).inspect();
      return info.NetworkSettings.Networks[network]?.IPAddress || undefined;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async endpoint(unit: string, containerPort: number): Promise<Endpoint | undefined> {
    const info = await this.inspectUnit(unit);
    if (!info?.State.Running) return undefined;
    // A remote engine (tcp://) publishes on its own host, not on this one.
    const modem = this.docker.modem as { socketPath?: unknown; host?: string };
    return publishedEndpoint(
      info.NetworkSettings.Ports,
      containerPort,
      modem.socketPath ? undefined : modem.host,
    );
  }

  async copyInto(unit: string, dir: string, files: UnitFile[]): Promise<void> {
    try {
      await putFiles(this.docker, unit, dir, files);
    } catch (e) {
      throw new OdpError(
        statusOf(e) === 404 ? 'NOT_FOUND' : 'ENGINE',
        `cannot copy files into ${unit}: ${messageOf(e)}`,
        { cause: e },
      );
    }
  }

  /** The container's inspection; undefined when it is gone. */
  private async inspectUnit(unit: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(unit).inspect();
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async checkNow(unit: string): Promise<boolean | undefined> {
    const info = await this.inspectUnit(unit);
    if (!info) return undefined;
    const check = info.Config.Healthcheck;
    const command = healthCommand(check?.Test);
    if (!command || !info.State.Running) return undefined;
    const timeoutMs = Math.max(1000, (check?.Timeout ?? 0) / 1e6 || 30_000);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([
        execIn(this.docker, unit, command).then(
          (r) => r.exitCode === 0,
          () => false,
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async explain(unit: string): Promise<UnitExplanation | undefined> {
    const info = await this.inspectUnit(unit);
    if (!info) return undefined;
    const h = info.State.Health;
    const failed = [...(h?.Log ?? [])].reverse().find((l) => l.ExitCode !== 0);
    return {
      running: info.State.Running,
      exitCode: info.State.ExitCode,
      error: info.State.Error,
      health: (h?.Status as Health | undefined) ?? 'none',
      lastProbe: failed?.Output.trim() ?? '',
      restarting: info.State.Restarting,
    };
  }

  async lastLogs(unit: string, lines: number): Promise<string> {
    try {
      const buf = await this.docker.getContainer(unit).logs({ stdout: true, stderr: true, tail: lines });
      return demuxBuffer(buf as unknown as Buffer).trimEnd();
    } catch {
      return '(no logs)';
    }
  }
}
