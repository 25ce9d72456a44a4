// The one node odp can reach containers on: the manager's own. Swarm has no
// exec across nodes (the API execs only into containers of the node it talks
// to), so a unit's container is reached only when its task runs there; any
// other is refused with what it would need instead (docs/decisions/0069).
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { inspectService, tasksOf } from './services.js';
import { currentTask, describeTask, stateOf, type SwarmTask } from './tasks.js';

export class ManagerNode {
  private idOnce: Promise<string> | undefined;

  constructor(private readonly docker: Dockerode) {}

  /** The unit's current task; undefined when the service is gone or has none. */
  async task(unit: string): Promise<SwarmTask | undefined> {
    const svc = await inspectService(this.docker, unit);
    return svc ? currentTask(await tasksOf(this.docker, svc)) : undefined;
  }

  /** The task's container when it runs on this node. */
  async container(task: SwarmTask): Promise<string | undefined> {
    const id = task.Status?.ContainerStatus?.ContainerID;
    return id && task.NodeID === (await this.id()) ? id : undefined;
  }

  /** Runs `act` on the container of the unit's running task, if it is on this node; refuses otherwise. */
  async reach<T>(unit: string, verb: string, act: (container: string) => Promise<T>): Promise<T> {
    const task = await this.task(unit);
    if (!task || !['running', 'starting'].includes(stateOf(task))) {
      const why = task ? `its task ${describeTask(task)}` : 'it is not there';
      throw new OdpError('NOT_FOUND', `cannot ${verb} ${unit}: ${why}`);
    }
    const container = await this.container(task);
    if (container) return act(container);
    throw new OdpError(
      'ENGINE',
      `cannot ${verb} ${unit}: its task runs on another node than the manager odp talks to, and Swarm has no exec across nodes`,
      {
        hint:
          'This needs a job placed on that node (or the work done over the network), which odp does not do yet; ' +
          `until then, place ${unit} on the manager's node, or point DOCKER_HOST at a manager on its node.`,
      },
    );
  }

  private id(): Promise<string> {
    this.idOnce ??= this.docker.info().then((i: { Swarm?: { NodeID?: string } }) => i.Swarm?.NodeID ?? '');
    return this.idOnce;
  }
}
