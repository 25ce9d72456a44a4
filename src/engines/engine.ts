// The one interface every engine implements. Ops never ask which engine they
// hold: a single Docker host runs one container per replica, Docker Swarm runs
// services across hosts; both observe what runs through the same labels.
import type { HealthCheck, Service } from '../model/stack.js';

/** Labels every object odp makes carries; observation is by these, never by name guessing. */
export const LABEL = {
  platform: 'odp.platform',
  project: 'odp.project',
  instance: 'odp.instance',
  service: 'odp.service',
  replica: 'odp.replica',
  configHash: 'odp.config-hash',
  image: 'odp.image',
  /** A pinned instance's release: its version and configuration (docs/decisions/0058). */
  release: 'odp.release',
} as const;

export interface Selector {
  platform: string;
  project?: string;
  instance?: string;
}

export type RunState = 'running' | 'created' | 'restarting' | 'exited' | 'dead' | 'paused' | 'removing';
export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface ObservedUnit {
  /** Engine id (container id, or service id in Swarm). */
  id: string;
  name: string;
  project: string;
  instance: string;
  service: string;
  replica: number;
  /** The release a pinned instance's unit belongs to; empty for the others. */
  release: string;
  configHash: string;
  image: string;
  /** The id of the image it runs: a new image behind the same tag is a change. */
  imageId: string;
  state: RunState;
  health: Health;
  createdAt: Date;
  /** Host ports published by the unit, by container port. */
  ports: Record<number, number>;
  /** The host its task runs on (an engine of many hosts: the node's `odp.host`, else its hostname). */
  node?: string;
}

/** What a unit's labels say it is: the part of an observation every engine reads from them. */
export function labelledUnit(
  l: Readonly<Record<string, string>>,
): Pick<ObservedUnit, 'project' | 'instance' | 'service' | 'replica' | 'release' | 'configHash'> {
  return {
    project: l[LABEL.project] ?? '',
    instance: l[LABEL.instance] ?? '',
    service: l[LABEL.service] ?? '',
    replica: Number(l[LABEL.replica] ?? 1),
    release: l[LABEL.release] ?? '',
    configHash: l[LABEL.configHash] ?? '',
  };
}

export interface Observed {
  units: ObservedUnit[];
  networks: string[];
  volumes: string[];
}

export interface PublishedPort {
  container: number;
  host: number;
  ip: string;
}

/** What to run: a service of a stack, one replica of it, with its config hash. */
export interface UnitSpec {
  stack: string;
  network: string;
  service: Service;
  replica: number;
  /** A pinned instance's release: part of the unit's name, and labelled. */
  release?: string;
  configHash: string;
  /** The unit whose network namespace this one shares (the nginx sidecar → its odoo). */
  sharesNetworkWithUnit?: string;
  /** Container ports published on the host (port 0: ephemeral). */
  publish: PublishedPort[];
  /**
   * Where an engine of many hosts may run it: Swarm placement constraints on
   * node labels (`node.labels.odp.production==true`, compose/placement.ts). An
   * engine of one host ignores them.
   */
  placement?: { constraints: string[] };
}

export interface UnitExplanation {
  running: boolean;
  exitCode: number;
  error: string;
  health: Health;
  /** Output of the last failed health probe, if any. */
  lastProbe: string;
  restarting: boolean;
}

export interface OneOffResult {
  exitCode: number;
  output: string;
}

export interface ExecOptions {
  /**
   * Variables of the command only (a password: PGPASSWORD): given to the engine
   * apart from the command line, so no `ps` in the container shows them.
   */
  env?: Record<string, string>;
  /** Fed to the command's standard input, which is closed when it ends. */
  stdin?: NodeJS.ReadableStream;
  /**
   * Where the command's standard output goes, with backpressure (a slow reader
   * slows the command down; nothing piles up in memory). Collected into the
   * result when absent: for small outputs only.
   */
  stdout?: NodeJS.WritableStream;
  /** The user to run as (default: the unit's). */
  user?: string;
}

export interface ExecResult {
  exitCode: number;
  /** Empty when `stdout` was given a stream. */
  stdout: string;
  /** The end of the command's standard error (its last 64 KiB). */
  stderr: string;
}

/**
 * How odp itself tells that a unit is ready while a deploy waits for it: the
 * service's health probe (an HTTP path and port, or a command), run by the engine
 * at a short interval only for as long as someone waits (docs/decisions/0050).
 * Undefined: the unit has no probe, running is ready.
 */
export type ReadinessProbe = Pick<HealthCheck, 'http' | 'command' | 'timeoutSeconds'>;

export interface WaitOptions {
  /** The deploy's health deadline (`--health-timeout`). */
  timeoutMs: number;
  /** Called while waiting, for progress. */
  onWait?: (detail: string) => void;
}

/** Where odp reaches a unit's port from the machine it runs on. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A file or directory put into a unit by `copyInto`, owned by root. */
export interface UnitFile {
  /** Relative to the directory it is copied into; parents are listed before their children. */
  path: string;
  mode: number;
  /** A directory when absent. */
  content?: string | Buffer;
}

export interface LogOptions {
  tail?: number;
  since?: string;
  follow?: boolean;
}

export interface Engine {
  readonly kind: 'docker' | 'swarm';
  /** Fails with a clear error when the engine does not answer. */
  ping(): Promise<void>;
  observe(selector: Selector): Promise<Observed>;
  /** The image's id, pulling it when it is not present; undefined when it exists nowhere. */
  resolveImage(ref: string): Promise<string | undefined>;
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  /** Creates and starts one unit; returns its id. */
  run(spec: UnitSpec): Promise<string>;
  /**
   * Creates one unit without starting it (its networks attached), so that a
   * start in a maintenance window is only a start; `start()` starts it.
   */
  create(spec: UnitSpec): Promise<string>;
  /** Stops (gracefully, then forcibly) and removes one unit. */
  remove(unitName: string, stopTimeoutSeconds?: number): Promise<void>;
  /**
   * Runs a command in a running unit and resolves when it exits, whatever its
   * exit code; rejects when the unit is not there or a stream fails.
   */
  exec(unitName: string, command: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Stops a unit without removing it (gracefully, then forcibly); a stopped one stays so. */
  stop(unitName: string, timeoutSeconds?: number): Promise<void>;
  /** Starts a stopped unit again, as it was. */
  start(unitName: string): Promise<void>;
  /**
   * Resolves once the unit answers its probe (or the engine already reports it
   * healthy; or, without a probe, once it runs); rejects with its last logs when
   * it exits, turns unhealthy, or the deadline passes. The engine probes at a
   * short interval while this waits, so units need no frequent health checks of
   * their own: Docker probes the unit's address from here (or execs the probe),
   * Swarm a task of the service.
   */
  waitReady(unitName: string, probe: ReadinessProbe | undefined, opts: WaitOptions): Promise<void>;
  /**
   * Runs the unit's own health check once, now, as the engine would: true when it
   * passes; undefined when the unit has no check or is gone. For `odp status`
   * between a deploy and the engine's first steady check (docs/decisions/0050).
   */
  checkNow(unitName: string): Promise<boolean | undefined>;
  /**
   * Runs `command` to completion in a throw-away unit made like `spec` (its
   * networks and environment), never restarted; removed once it ends.
   */
  runTask(spec: UnitSpec, command: string[]): Promise<OneOffResult>;
  /**
   * Makes the unit `runTask` would run, as ready as the engine can without its
   * command running (Docker: started and held before its entrypoint); returns
   * its name. If this process ends first, the task never runs its command.
   */
  createTask(spec: UnitSpec, command: string[]): Promise<string>;
  /** Runs a task this process made with `createTask`, to its end; it stays until removed. */
  startTask(name: string): Promise<OneOffResult>;
  /** Runs a command to completion in a throw-away container of `image`. */
  runOneOff(image: string, command: string[], env?: Record<string, string>): Promise<OneOffResult>;
  logs(unitName: string, opts: LogOptions): Promise<NodeJS.ReadableStream>;
  /** Why a unit is in the state it is: exit code, error, the last health check's output. */
  explain(unitName: string): Promise<UnitExplanation | undefined>;
  lastLogs(unitName: string, lines: number): Promise<string>;
  /** The unit's address on a network, as the engine assigned it (undefined: not on it, or gone). */
  address(unitName: string, network: string): Promise<string | undefined>;
  /**
   * Where a running unit's container port is reachable from where odp runs (a
   * published port: Docker's loopback or bind address); undefined when the unit
   * is gone, stopped, or does not publish that port. Ops never guess an address.
   */
  endpoint(unitName: string, containerPort: number): Promise<Endpoint | undefined>;
  /**
   * Puts files into a running unit under `dir` (which exists), as they are listed:
   * how a control channel hands a unit a configuration it then checks and loads.
   */
  copyInto(unitName: string, dir: string, files: UnitFile[]): Promise<void>;
}
