// The engine of many hosts: Docker Swarm through a manager's API (dockerode,
// Engine API 1.41). One service per unit, named as the unit and carrying its
// labels; its state is read back from the service's tasks (docs/decisions/0069).
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import {
  LABEL,
  type Endpoint,
  type Engine,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type Observed,
  type OneOffResult,
  type ReadinessProbe,
  type Selector,
  type UnitExplanation,
  type UnitFile,
  type UnitSpec,
  type WaitOptions,
} from '../engine.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { DockerEngine } from '../docker/engine.js';
import { hostOfNode, toNode, type NodeInfo } from './cluster.js';
import { createPinned, RegistryPins, type ImageSupply, type SwarmRegistry } from './image-ref.js';
import { SwarmJobs } from './jobs.js';
import { NodeEngines } from './node-engines.js';
import { OfflineImages } from './offline-images.js';
import { serviceLogs, serviceOutput } from './logs.js';
import { SwarmNetworks } from './networks.js';
import { IMAGE_ID_LABEL, observedUnit } from './observed.js';
import { waitTaskReady } from './ready.js';
import { unpinned } from './peer.js';
import { ensureSecrets, removeUnitSecrets, secretFiles, secretMounts } from './secrets.js';
import { PEER_LABEL, serviceSpec, STOP_GRACE_SECONDS } from './service-spec.js';
import {
  engineError,
  hasHealthCheck,
  inspectService,
  removeService,
  setReplicas,
  tasksOf,
  until,
  waitTasksEnded,
  wasStopped,
  type ServiceInfo,
} from './services.js';
import { addressOn, explainTasks, publishedPorts, stateOf, type SwarmTask } from './tasks.js';

/** Beyond a stop's grace period: for the nodes to report their tasks ended. */
const REPORT_MS = 120_000;
/** For a node to remove a removed unit's container, and let go of its volume. */
const RELEASE_MS = 60_000;

export class SwarmEngine implements Engine {
  readonly kind = 'swarm' as const;
  /**
   * The manager's own engine as a single host: images it holds, and the
   * containers of tasks that run on its node (other nodes: node-engines.ts).
   */
  private readonly local: DockerEngine;
  private readonly networks: SwarmNetworks;
  private readonly jobs: SwarmJobs;
  private readonly node: NodeEngines;
  /**
   * Gets a service's image to its nodes before it is made: with a registry, its
   * digest there (image-ref.ts); offline, a copy onto each node that may run it
   * (offline-images.ts). Gives the auth to create it with.
   */
  private readonly supply: ImageSupply | undefined;

  constructor(
    readonly docker: Dockerode,
    /** Where the manager is, for messages (DOCKER_HOST). */
    readonly where = 'the engine',
    /** Each host's own engine, by host name (`hosts.<name>.docker`): for what Swarm does not do across nodes. */
    nodeAddresses: Readonly<Record<string, string>> = {},
    /** A registry; `offline`: each image copied from the manager onto its nodes; none: the nodes hold them. */
    images?: SwarmRegistry | 'offline',
  ) {
    this.local = new DockerEngine(docker);
    this.networks = new SwarmNetworks(docker);
    this.node = new NodeEngines(docker, this.local, nodeAddresses);
    if (images === 'offline') {
      const offline = new OfflineImages(docker, this.node);
      this.supply = (body) => offline.supply(body);
    } else if (images) {
      const pins = new RegistryPins(docker, images);
      this.supply = (body) => pins.pin(body);
    }
    this.jobs = new SwarmJobs(
      docker,
      (spec, body) => this.prepare(spec, body),
      () => this.node.managerNodeId(),
      this.supply,
    );
  }

  async ping(): Promise<void> {
    const hint = 'Point DOCKER_HOST at a manager of the swarm (docker swarm init on the first server).';
    let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    try {
      info = (await this.docker.info()) as typeof info;
    } catch (e) {
      throw new OdpError('ENGINE', `the swarm manager at ${this.where} does not answer`, { cause: e, hint });
    }
    if (info.Swarm?.LocalNodeState !== 'active')
      throw new OdpError('ENGINE', `${this.where} is not part of a swarm`, { hint });
    if (!info.Swarm.ControlAvailable)
      throw new OdpError('ENGINE', `${this.where} is a swarm worker, not a manager`, { hint });
  }

  async observe(sel: Selector): Promise<Observed> {
    const label = [`${LABEL.platform}=${sel.platform}`];
    if (sel.project) label.push(`${LABEL.project}=${sel.project}`);
    if (sel.instance) label.push(`${LABEL.instance}=${sel.instance}`);
    const [services, networks, volumes, nodes] = await Promise.all([
      this.docker.listServices({ filters: { label } }) as Promise<ServiceInfo[]>,
      this.networks.list(label),
      // Volumes live on the nodes; the manager lists only its own (the others are
      // seen by where their units run).
      this.docker.listVolumes({ filters: { label } }),
      this.docker.listNodes() as Promise<NodeInfo[]>,
    ]);
    const hostOf = new Map(nodes.map((n) => [n.ID, hostOfNode(n)]));
    const names = services.map((s) => `${s.Spec?.Name ?? s.ID}.`);
    const tasks = names.length
      ? ((await this.docker.listTasks({ filters: { name: names } })) as SwarmTask[])
      : [];
    const own = (s: ServiceInfo) => tasks.filter((t) => t.ServiceID === s.ID);
    return {
      units: services.map((s) => observedUnit(s, own(s), hostOf)),
      networks,
      volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    };
  }

  /**
   * The image's id on the manager. Nodes hold their own images: they get them
   * from a registry or are loaded by hand (offline), so this says the image
   * exists, not that every node has it.
   */
  resolveImage(ref: string): Promise<string | undefined> {
    return this.local.resolveImage(ref);
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.networks.ensure(name, labels);
  }

  removeNetwork(name: string): Promise<void> {
    return this.networks.remove(name);
  }

  /**
   * Nothing to do ahead: a named local volume is made by the node a task lands
   * on, when the task starts there (with the unit's labels, service-spec.ts).
   * The manager cannot make one on another node.
   */
  async ensureVolume(): Promise<void> {}

  /**
   * Removes the volume on every node odp reaches (the manager's, and each
   * host's declared engine: a volume lives on the node its task ran on), once
   * that node has removed the container of the unit's last task (a moment after
   * the manager forgot the task). A node odp cannot reach keeps its copy.
   */
  async removeVolume(name: string): Promise<void> {
    for (const engine of this.node.all()) {
      await until(`volume ${name} to be released by its container`, RELEASE_MS, async () => {
        try {
          await engine.removeVolume(name);
          return true;
        } catch (e) {
          if (statusOf(e) === 409 || /in use/i.test(messageOf(e))) return undefined;
          throw engineError(`cannot remove volume ${name}`, e);
        }
      });
    }
  }

  run(spec: UnitSpec): Promise<string> {
    return this.createService(spec, 1);
  }

  /**
   * Swarm cannot make a task without running it: `create` makes the service
   * with 0 replicas (spec checked, stored, labelled), and `start` scales it to
   * 1. Its networks are attached when its task is scheduled, at the start.
   */
  create(spec: UnitSpec): Promise<string> {
    return this.createService(spec, 0);
  }

  private async createService(spec: UnitSpec, replicas: 0 | 1): Promise<string> {
    let body = serviceSpec(spec, replicas, await this.local.features());
    body = await this.prepare(spec, body);
    // The manager's copy, never pulled here (resolveImage did that, when it could).
    const imageId = await this.docker
      .getImage(spec.service.image)
      .inspect()
      .then(
        (i) => i.Id,
        () => undefined,
      );
    if (imageId) body.Labels = { ...body.Labels, [IMAGE_ID_LABEL]: imageId };
    const auth = await this.supply?.(body);
    try {
      return await createPinned(this.docker, body, auth);
    } catch (e) {
      throw engineError(`could not create ${body.Name ?? 'a unit'}`, e);
    }
  }

  /**
   * What a unit's service (or job) needs before it is made: its external networks
   * (the edge network exists before the edge does, so an instance can be deployed
   * first) and its secrets, whose ids the body then names (0075).
   */
  private async prepare(
    spec: UnitSpec,
    body: Dockerode.CreateServiceOptions,
  ): Promise<Dockerode.CreateServiceOptions> {
    const labels = { [LABEL.platform]: spec.service.labels[LABEL.platform] ?? '' };
    for (const net of spec.service.externalNetworks) await this.networks.ensure(net.name, labels);
    const files = secretFiles(spec, body.Name!);
    if (files.length === 0) return body;
    const ids = await ensureSecrets(this.docker, spec, body.Name!, files);
    const task = body.TaskTemplate as Dockerode.ContainerTaskSpec;
    return {
      ...body,
      TaskTemplate: { ...task, ContainerSpec: { ...task.ContainerSpec, Secrets: secretMounts(files, ids) } },
    };
  }

  async remove(unit: string, stopTimeoutSeconds = STOP_GRACE_SECONDS): Promise<void> {
    await removeService(this.docker, unit, stopTimeoutSeconds * 1000 + REPORT_MS);
    await removeUnitSecrets(this.docker, unit);
  }

  /**
   * Scales the service to 0 and waits for its task to end. The grace period is
   * the service's own (set when it was made); `timeoutSeconds` bounds the wait.
   */
  async stop(unit: string, timeoutSeconds = STOP_GRACE_SECONDS): Promise<void> {
    const svc = await setReplicas(this.docker, unit, 0);
    await waitTasksEnded(this.docker, svc, `${unit} to stop`, timeoutSeconds * 1000 + REPORT_MS);
  }

  /** Scales it to 1, dropping a node pin an earlier build gave a sidecar (0072). */
  async start(unit: string): Promise<void> {
    await setReplicas(this.docker, unit, 1, async (spec) =>
      spec.Labels?.[PEER_LABEL] ? unpinned(spec) : spec,
    );
  }

  waitReady(unit: string, probe: ReadinessProbe | undefined, opts: WaitOptions): Promise<void> {
    return waitTaskReady(unit, probe, opts, {
      docker: this.docker,
      reach: (t) => this.node.container(t),
      lastLogs: (n) => this.lastLogs(unit, n),
    });
  }

  /** Runs the unit's check in its task's container, on its node; undefined when odp cannot reach that node. */
  async checkNow(unit: string): Promise<boolean | undefined> {
    const task = await this.node.task(unit);
    const at = task ? await this.node.container(task) : undefined;
    return at ? at.engine.checkNow(at.container) : undefined;
  }

  exec(unit: string, command: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.node.reach(unit, `run ${command[0] ?? 'a command'} in`, (at) =>
      at.engine.exec(at.container, command, opts),
    );
  }

  copyInto(unit: string, dir: string, files: UnitFile[]): Promise<void> {
    return this.node.reach(unit, 'copy files into', (at) => at.engine.copyInto(at.container, dir, files));
  }

  runTask(spec: UnitSpec, command: string[]): Promise<OneOffResult> {
    return this.jobs.runTask(spec, command);
  }

  /** Records the job's spec: a job cannot be made paused, so startTask makes it (decision 0069). */
  createTask(spec: UnitSpec, command: string[]): Promise<string> {
    return this.jobs.createTask(spec, command);
  }

  startTask(name: string): Promise<OneOffResult> {
    return this.jobs.startTask(name);
  }

  runOneOff(image: string, command: string[], env: Record<string, string> = {}): Promise<OneOffResult> {
    return this.jobs.runOneOff(image, command, env);
  }

  logs(unit: string, opts: LogOptions): Promise<NodeJS.ReadableStream> {
    return serviceLogs(this.docker, unit, opts);
  }

  async explain(unit: string): Promise<UnitExplanation | undefined> {
    const svc = await inspectService(this.docker, unit);
    return svc
      ? explainTasks(await tasksOf(this.docker, svc), hasHealthCheck(svc), wasStopped(svc))
      : undefined;
  }

  async lastLogs(unit: string, lines: number): Promise<string> {
    try {
      return (await serviceOutput(this.docker, unit, { tail: lines })).trimEnd();
    } catch {
      return '(no logs)';
    }
  }

  /**
   * The task's address on the network; for a unit not on it whose sidecar stands
   * for it there (answering to its name: the nginx sidecar on the edge network,
   * 0072), the sidecar's.
   */
  async address(unit: string, network: string): Promise<string | undefined> {
    const on = async (name: string) => {
      const task = await this.node.task(name);
      return task && ['running', 'starting'].includes(stateOf(task)) ? addressOn(task, network) : undefined;
    };
    const own = await on(unit);
    if (own) return own;
    const peers = (await this.docker.listServices({
      filters: { label: [`${PEER_LABEL}=${unit}`] },
    })) as ServiceInfo[];
    for (const p of peers) {
      const addr = p.Spec?.Name ? await on(p.Spec.Name) : undefined;
      if (addr) return addr;
    }
    return undefined;
  }

  /** The node's address and the port its task publishes there (host mode: one node, one port). */
  async endpoint(unit: string, containerPort: number): Promise<Endpoint | undefined> {
    const task = await this.node.task(unit);
    if (!task?.NodeID || stateOf(task) !== 'running') return undefined;
    const port = publishedPorts(task)[containerPort];
    if (!port) return undefined;
    try {
      const node = toNode((await this.docker.getNode(task.NodeID).inspect()) as NodeInfo);
      return node.addr ? { host: node.addr, port } : undefined;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw new OdpError('ENGINE', `cannot read the node of ${unit}: ${messageOf(e)}`, { cause: e });
    }
  }
}
