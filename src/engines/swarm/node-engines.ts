// The nodes' own engines: where odp does what Swarm does not do across nodes.
// The manager's API execs only into containers of its own node (Swarm has no
// `service exec`), so a task's container is reached through the engine of the
// node it runs on: the manager's own node through the manager's connection,
// another node through the address its host declares (`hosts.<name>.docker`,
// DOCKER_HOST's syntax), the node known as the host by its `odp.host` label
// (docs/decisions/0067, 0071). exec, copying files in, the readiness probe and
// removing a volume go that way; a node without an address is refused, saying so.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { NODE_HOST_LABEL } from '../../plan/hosts-plan.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { dockerAt } from '../docker/client.js';
import { DockerEngine } from '../docker/engine.js';
import { hostOfNode, type NodeInfo } from './cluster.js';
import { inspectService, tasksOf } from './services.js';
import { currentTask, describeTask, stateOf, type SwarmTask } from './tasks.js';

/** A task's container and the engine of the node it runs on. */
export interface Reached {
  engine: DockerEngine;
  container: string;
  /** The node's host name (or hostname), for messages. */
  node: string;
}

export class NodeEngines {
  private managerId: Promise<string> | undefined;
  private readonly byAddress = new Map<string, DockerEngine>();

  constructor(
    private readonly docker: Dockerode,
    /** The manager's own node, reached through the manager's connection. */
    private readonly manager: DockerEngine,
    /** Each host's engine address (`hosts.<name>.docker`), by host name. */
    private readonly addresses: Readonly<Record<string, string>> = {},
  ) {}

  /** The unit's current task; undefined when the service is gone or has none. */
  async task(unit: string): Promise<SwarmTask | undefined> {
    const svc = await inspectService(this.docker, unit);
    return svc ? currentTask(await tasksOf(this.docker, svc)) : undefined;
  }

  /** The task's container and its node's engine, when odp can reach that node; undefined otherwise. */
  async container(task: SwarmTask): Promise<Reached | undefined> {
    const id = task.Status?.ContainerStatus?.ContainerID;
    if (!id || !task.NodeID) return undefined;
    const at = await this.engineOf(task.NodeID);
    return at.engine ? { engine: at.engine, container: id, node: at.node } : undefined;
  }

  /** Runs `act` on the container of the unit's running task, on whichever node it runs. */
  async reach<T>(unit: string, verb: string, act: (r: Reached) => Promise<T>): Promise<T> {
    const task = await this.task(unit);
    if (!task || !['running', 'starting'].includes(stateOf(task))) {
      const why = task ? `its task ${describeTask(task)}` : 'it is not there';
      throw new OdpError('NOT_FOUND', `cannot ${verb} ${unit}: ${why}`);
    }
    const id = task.Status?.ContainerStatus?.ContainerID;
    const at = task.NodeID ? await this.engineOf(task.NodeID) : { node: '?' };
    if (id && at.engine) return act({ engine: at.engine, container: id, node: at.node });
    throw new OdpError(
      'ENGINE',
      `cannot ${verb} ${unit}: its task runs on node ${at.node}, whose engine odp has no address for (Swarm has no exec across nodes)`,
      {
        hint: `Give that node's host its engine's address in platform.yaml: hosts.<host>.docker (ssh://root@ADDRESS, or tcp:// with TLS), and label the node with \`odp hosts sync\`.`,
      },
    );
  }

  /** Every node's engine odp can reach: the manager's and each declared address. */
  all(): DockerEngine[] {
    return [this.manager, ...Object.values(this.addresses).map((a) => this.engineAt(a))];
  }

  /** The node's engine, when odp has an address for it (the manager's own always). */
  async engineOf(nodeId: string): Promise<{ engine?: DockerEngine; node: string }> {
    if (nodeId === (await this.managerNodeId())) return { engine: this.manager, node: 'the manager' };
    let node: NodeInfo;
    try {
      node = (await this.docker.getNode(nodeId).inspect()) as NodeInfo;
    } catch (e) {
      if (statusOf(e) === 404) return { node: nodeId };
      throw new OdpError('ENGINE', `cannot read node ${nodeId}: ${messageOf(e)}`, { cause: e });
    }
    const host = node.Spec?.Labels?.[NODE_HOST_LABEL];
    const name = hostOfNode(node);
    const address = host ? this.addresses[host] : undefined;
    return address ? { engine: this.engineAt(address), node: name } : { node: name };
  }

  private engineAt(address: string): DockerEngine {
    let e = this.byAddress.get(address);
    if (!e) this.byAddress.set(address, (e = new DockerEngine(dockerAt(address))));
    return e;
  }

  /** The id of the manager's own node (the one odp's DOCKER_HOST names). */
  managerNodeId(): Promise<string> {
    this.managerId ??= this.docker.info().then((i: { Swarm?: { NodeID?: string } }) => i.Swarm?.NodeID ?? '');
    return this.managerId;
  }
}
