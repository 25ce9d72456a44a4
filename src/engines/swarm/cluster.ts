// The nodes of a Docker Swarm, through a manager's API (dockerode). Only what
// Engine API 1.41 (Docker 20.10) documents: GET /nodes, POST /nodes/{id}/update,
// GET /swarm, GET /info.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { NODE_HOST_LABEL, type ClusterNode } from '../../plan/hosts-plan.js';
import type { PlacedUnit } from '../../plan/label-moves.js';
import type { Cluster, JoinCommand } from '../cluster.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { LABEL } from '../engine.js';
import { JOB_LABEL } from './service-spec.js';
import type { ServiceInfo } from './services.js';
import { currentTask, type SwarmTask } from './tasks.js';

export interface NodeInfo {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Name?: string; Labels?: Record<string, string>; Role?: string; Availability?: string };
  Description?: { Hostname?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Addr?: string; Reachability?: string };
}

export class SwarmCluster implements Cluster {
  constructor(
    private readonly docker: Dockerode,
    readonly endpoint: string,
  ) {}

  async nodes(): Promise<ClusterNode[]> {
    const list = (await this.call('list the swarm nodes', () => this.docker.listNodes())) as NodeInfo[];
    return list.map(toNode).sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  async setNodeLabels(nodeId: string, version: number, labels: Record<string, string>): Promise<void> {
    const node = this.docker.getNode(nodeId);
    const info = (await this.call(`read node ${nodeId}`, () => node.inspect())) as NodeInfo;
    if ((info.Version?.Index ?? 0) !== version) {
      throw new OdpError('CONFLICT', `node ${nodeId} changed since it was read`, {
        hint: 'Run the command again: it reads the nodes anew.',
      });
    }
    // The whole spec goes back: a node update replaces it, role and availability included.
    const spec = { ...info.Spec, Labels: labels };
    await this.call(`update node ${nodeId}`, () =>
      node.update({ _query: { version }, _body: spec } as unknown as object),
    );
  }

  async joinCommand(role: 'worker' | 'manager'): Promise<JoinCommand> {
    const swarm = (await this.call('read the swarm', () => this.docker.swarmInspect())) as {
      JoinTokens?: { Worker?: string; Manager?: string };
    };
    const token = role === 'manager' ? swarm.JoinTokens?.Manager : swarm.JoinTokens?.Worker;
    if (!token) throw new OdpError('ENGINE', 'the swarm gave no join token: is this engine a manager?');
    const managers = (await this.nodes())
      .filter((n) => n.role === 'manager' && n.state === 'ready')
      .sort((a, b) => Number(b.leader) - Number(a.leader))
      .flatMap((n) => (n.managerAddr ? [n.managerAddr] : []));
    if (managers.length === 0) throw new OdpError('ENGINE', 'the swarm has no reachable manager');
    return { command: `docker swarm join --token ${token} ${managers[0]}`, managers, role };
  }

  async placements(platform: string): Promise<PlacedUnit[]> {
    const services = (await this.call("list the platform's services", () =>
      this.docker.listServices({ filters: { label: [`${LABEL.platform}=${platform}`] } }),
    )) as ServiceInfo[];
    const units = services.filter((s) => !s.Spec?.Labels?.[JOB_LABEL]);
    const names = units.map((s) => `${s.Spec?.Name ?? s.ID}.`);
    const tasks = names.length
      ? ((await this.call('list their tasks', () =>
          this.docker.listTasks({ filters: { name: names } }),
        )) as SwarmTask[])
      : [];
    return units.map((s) => {
      const task = currentTask(tasks.filter((t) => t.ServiceID === s.ID));
      const template = s.Spec?.TaskTemplate as Dockerode.ContainerTaskSpec | undefined;
      const running = task?.DesiredState === 'running' && task.Status?.State === 'running';
      return {
        unit: s.Spec?.Name ?? s.ID,
        constraints: template?.Placement?.Constraints ?? [],
        ...(running && task.NodeID ? { nodeId: task.NodeID } : {}),
        holdsData: (template?.ContainerSpec?.Mounts ?? []).some((m) => m.Type === 'volume'),
        // A test instance or a branch's (`test@<branch>`): rebuilt from scratch by its deploy.
        disposable: /^test(@|$)/.test(s.Spec?.Labels?.[LABEL.instance] ?? ''),
      };
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (statusOf(e) === 503 || /not part of a swarm|not a swarm manager/i.test(messageOf(e))) {
        throw new OdpError('ENGINE', `${what}: ${this.endpoint} is not a swarm manager`, {
          hint: 'Point DOCKER_HOST at a manager of the swarm (docker swarm init on the first server).',
        });
      }
      throw new OdpError('ENGINE', `${what}: ${messageOf(e)}`);
    }
  }
}

/** The spec's host a node is (its `odp.host` label, 0067), else its hostname: how odp names a node. */
export function hostOfNode(n: NodeInfo): string {
  return n.Spec?.Labels?.[NODE_HOST_LABEL] ?? n.Description?.Hostname ?? n.ID;
}

export function toNode(n: NodeInfo): ClusterNode {
  // A manager's Status.Addr may be 0.0.0.0 (Docker 20.10); its ManagerStatus.Addr has the port.
  const managerAddr = n.ManagerStatus?.Addr;
  const addr = n.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : managerAddr?.split(':')[0];
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? n.ID,
    addr: addr ?? '',
    ...(n.ManagerStatus ? { managerAddr: managerAddr ?? `${addr}:2377` } : {}),
    role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
    leader: !!n.ManagerStatus?.Leader,
    state: n.Status?.State ?? 'unknown',
    availability: n.Spec?.Availability ?? 'active',
    labels: { ...(n.Spec?.Labels ?? {}) },
    version: n.Version?.Index ?? 0,
  };
}
