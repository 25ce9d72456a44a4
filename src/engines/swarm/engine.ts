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
import { toNode, type NodeInfo } from './cluster.js';
import { createPinned, RegistryPins, type SwarmRegistry } from './image-ref.js';
import { SwarmJobs } from './jobs.js';
import { ManagerNode } from './manager-node.js';
import { serviceLogs, serviceOutput } from './logs.js';
import { SwarmNetworks } from './networks.js';
import { IMAGE_ID_LABEL, observedUnit } from './observed.js';
import { waitTaskReady } from './ready.js';
import { serviceSpec, STOP_GRACE_SECONDS } from './service-spec.js';
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
   * containers of tasks that run on its node (the only ones it can exec into).
   */
  private readonly local: DockerEngine;
  private readonly networks: SwarmNetworks;
  private readonly jobs: SwarmJobs;
  private readonly node: ManagerNode;
  /** With a registry, services run their image from it by digest (image-ref.ts). */
  private readonly pins: RegistryPins | undefined;

  constructor(
    readonly docker: Dockerode,
    /** Where the manager is, for messages (DOCKER_HOST). */
    readonly where = 'the engine',
    registry?: SwarmRegistry,
  ) {
    this.local = new DockerEngine(docker);
    this.networks = new SwarmNetworks(docker);
    this.node = new ManagerNode(docker);
    this.pins = registry && new RegistryPins(docker, registry);
    this.jobs = new SwarmJobs(docker, (spec) => this.externalNetworks(spec), this.pins);
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
    const [services, networks, volumes] = await Promise.all([
      this.docker.listServices({ filters: { label } }) as Promise<ServiceInfo[]>,
      this.networks.list(label),
      // Volumes live on the nodes; the manager lists only its own (the others are
      // seen by where their units run).
      this.docker.listVolumes({ filters: { label } }),
    ]);
    const names = services.map((s) => `${s.Spec?.Name ?? s.ID}.`);
    const tasks = names.length
      ? ((await this.docker.listTasks({ filters: { name: names } })) as SwarmTask[])
      : [];
    const own = (s: ServiceInfo) => tasks.filter((t) => t.ServiceID === s.ID);
    return {
      units: services.map((s) => observedUnit(s, own(s))),
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
   * Removes the volume where the manager can: on its own node, once the node
   * has removed the container of the unit's last task (a moment after the
   * manager forgot the task). A volume on another node stays until a job placed
   * there removes it (not done yet: odp has no node-local agent; decision 0069).
   */
  async removeVolume(name: string): Promise<void> {
    await until(`volume ${name} to be released by its container`, RELEASE_MS, async () => {
      try {
        await this.local.removeVolume(name);
        return true;
      } catch (e) {
        if (statusOf(e) === 409 || /in use/i.test(messageOf(e))) return undefined;
        throw engineError(`cannot remove volume ${name}`, e);
      }
    });
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
    const body = serviceSpec(spec, replicas, await this.local.features());
    await this.externalNetworks(spec);
    // The manager's copy, never pulled here (resolveImage did that, when it could).
    const imageId = await this.docker
      .getImage(spec.service.image)
      .inspect()
      .then(
        (i) => i.Id,
        () => undefined,
      );
    if (imageId) body.Labels = { ...body.Labels, [IMAGE_ID_LABEL]: imageId };
    const auth = await this.pins?.pin(body);
    try {
      return await createPinned(this.docker, body, auth);
    } catch (e) {
      throw engineError(`could not create ${body.Name ?? 'a unit'}`, e);
    }
  }

  /** The edge network exists before the edge does, so an instance can be deployed first. */
  private async externalNetworks(spec: UnitSpec): Promise<void> {
    const labels = { [LABEL.platform]: spec.service.labels[LABEL.platform] ?? '' };
    for (const net of spec.service.externalNetworks) await this.networks.ensure(net.name, labels);
  }

  async remove(unit: string, stopTimeoutSeconds = STOP_GRACE_SECONDS): Promise<void> {
    await removeService(this.docker, unit, stopTimeoutSeconds * 1000 + REPORT_MS);
  }

  /**
   * Scales the service to 0 and waits for its task to end. The grace period is
   * the service's own (set when it was made); `timeoutSeconds` bounds the wait.
   */
  async stop(unit: string, timeoutSeconds = STOP_GRACE_SECONDS): Promise<void> {
    const svc = await setReplicas(this.docker, unit, 0);
    await waitTasksEnded(this.docker, svc, `${unit} to stop`, timeoutSeconds * 1000 + REPORT_MS);
  }

  async start(unit: string): Promise<void> {
    await setReplicas(this.docker, unit, 1);
  }

  waitReady(unit: string, probe: ReadinessProbe | undefined, opts: WaitOptions): Promise<void> {
    return waitTaskReady(unit, probe, opts, {
      docker: this.docker,
      localContainer: (t) => this.node.container(t),
      lastLogs: (n) => this.lastLogs(unit, n),
    });
  }

  /** Runs the unit's check where odp can (its task on the manager's node); undefined elsewhere. */
  async checkNow(unit: string): Promise<boolean | undefined> {
    const task = await this.node.task(unit);
    const container = task ? await this.node.container(task) : undefined;
    return container ? this.local.checkNow(container) : undefined;
  }

  exec(unit: string, command: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.node.reach(unit, `run ${command[0] ?? 'a command'} in`, (c) =>
      this.local.exec(c, command, opts),
    );
  }

  copyInto(unit: string, dir: string, files: UnitFile[]): Promise<void> {
    return this.node.reach(unit, 'copy files into', (c) => this.local.copyInto(c, dir, files));
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

  async address(unit: string, network: string): Promise<string | undefined> {
    const task = await this.node.task(unit);
    return task && ['running', 'starting'].includes(stateOf(task)) ? addressOn(task, network) : undefined;
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
