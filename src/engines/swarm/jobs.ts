// One-off commands as jobs: a service of one task, run once, never restarted
// (service-spec.ts, asJob). A job has no result stream: its end is read from
// its task (exit code in the task's container status), its output from the
// service's logs once the task has ended. Then the job is scaled to 0: a
// manager that reconciles its services (a new leader does) would otherwise
// start a finished job's task again, as it would a crashed unit's.
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import type { OneOffResult, UnitSpec } from '../engine.js';
import { createPinned, type ImageSupply } from './image-ref.js';
import { serviceOutput } from './logs.js';
import { removeUnitSecrets } from './secrets.js';
import { jobSpec, oneOffSpec } from './service-spec.js';
import {
  engineError,
  inspectService,
  removeService,
  setReplicas,
  tasksOf,
  until,
  type ServiceInfo,
} from './services.js';
import { describeTask, hasEnded, isUnscheduled, newestFirst, stateOf, type SwarmTask } from './tasks.js';

/**
 * How long a job's task may wait for a node. A job has no deadline of its own
 * (a migration takes what it takes), but one that no node can take (a
 * constraint nobody meets, an image missing everywhere) would wait for ever.
 */
export const SCHEDULE_TIMEOUT_MS = 300_000;

/** A removed job's task has ended already: only its container is left to go. */
const REMOVE_MS = 120_000;

/** The Engine's tasks and one-offs, as jobs. */
export class SwarmJobs {
  /** Specs recorded by createTask, by name: a job cannot be made paused, so startTask makes it. */
  private readonly pending = new Map<string, Dockerode.CreateServiceOptions>();

  constructor(
    private readonly docker: Dockerode,
    /** Makes what the unit's job needs beforehand (its external networks, its secrets); the body to create. */
    private readonly prepare: (
      spec: UnitSpec,
      body: Dockerode.CreateServiceOptions,
    ) => Promise<Dockerode.CreateServiceOptions>,
    /** The manager's own node: where a one-off runs (0069). */
    private readonly managerNode: () => Promise<string>,
    /** A unit's job gets its image as the unit does (a registry's digest, or an offline copy). */
    private readonly supply?: ImageSupply,
  ) {}

  async runTask(spec: UnitSpec, command: string[]): Promise<OneOffResult> {
    const name = await this.createTask(spec, command);
    try {
      return await this.startTask(name);
    } finally {
      await removeService(this.docker, name, REMOVE_MS).catch(() => undefined);
      await removeUnitSecrets(this.docker, name).catch(() => undefined);
    }
  }

  async createTask(spec: UnitSpec, command: string[]): Promise<string> {
    const body = await this.prepare(spec, jobSpec(spec, command));
    this.pending.set(body.Name!, body);
    return body.Name!;
  }

  async startTask(name: string): Promise<OneOffResult> {
    const body = this.pending.get(name);
    this.pending.delete(name);
    if (!body) throw new OdpError('INTERNAL', `task ${name} was not made by this process`);
    await createJob(this.docker, body, this.supply);
    try {
      return await jobResult(this.docker, name);
    } finally {
      await setReplicas(this.docker, name, 0).catch(() => undefined);
    }
  }

  async runOneOff(image: string, command: string[], env: Record<string, string>): Promise<OneOffResult> {
    const name = `odp-one-off-${randomBytes(6).toString('hex')}`;
    // On the manager's own node: the image is the one odp resolved there (resolveImage),
    // which another node may not hold without a registry; so it is not pinned to one either.
    const spec = oneOffSpec(name, image, command, env);
    const task = spec.TaskTemplate as Dockerode.ContainerTaskSpec;
    task.Placement = { Constraints: [`node.id==${await this.managerNode()}`] };
    await createJob(this.docker, spec, undefined);
    try {
      return await jobResult(this.docker, name);
    } finally {
      await removeService(this.docker, name, REMOVE_MS).catch(() => undefined);
    }
  }
}

/** Creates the job; its id. */
async function createJob(
  docker: Dockerode,
  spec: Dockerode.CreateServiceOptions,
  supply: ImageSupply | undefined,
): Promise<string> {
  const auth = await supply?.(spec);
  try {
    return await createPinned(docker, spec, auth);
  } catch (e) {
    throw engineError(`cannot create job ${spec.Name ?? ''}`, e);
  }
}

/** Waits for the job's task to end; its exit code and output. Fails when it never ran. */
async function jobResult(docker: Dockerode, name: string): Promise<OneOffResult> {
  const svc = await inspectService(docker, name);
  if (!svc) throw new OdpError('NOT_FOUND', `no job ${name}`);
  const task = await taskEnd(docker, svc, name);
  const status = task.Status;
  const exitCode = stateOf(task) === 'complete' ? 0 : (status?.ContainerStatus?.ExitCode ?? 0);
  if (exitCode === 0 && stateOf(task) !== 'complete') {
    // Rejected by its node, or failed before its command ran: nothing to report but why.
    throw new OdpError('ENGINE', `job ${name} did not run: it ${describeTask(task)}`);
  }
  return { exitCode, output: await serviceOutput(docker, svc.ID) };
}

async function taskEnd(docker: Dockerode, svc: ServiceInfo, name: string): Promise<SwarmTask> {
  const since = Date.now();
  let last: SwarmTask | undefined;
  return until(`job ${name} to end`, Infinity, async () => {
    const tasks = newestFirst(await tasksOf(docker, svc));
    last = tasks[0];
    const ended = tasks.find(hasEnded);
    if (ended) return ended;
    if ((!last || isUnscheduled(last)) && Date.now() - since > SCHEDULE_TIMEOUT_MS) {
      throw new OdpError(
        'ENGINE',
        `job ${name} found no node in ${SCHEDULE_TIMEOUT_MS / 1000}s: it ${describeTask(last)}`,
        { hint: 'Check the placement constraints against the nodes’ labels (odp hosts status).' },
      );
    }
    return undefined;
  });
}
