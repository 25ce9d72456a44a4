// A swarm without a registry (platform.yaml `offlineImages: true`): before a
// service is made, its image is copied from the manager, which holds what
// `odp images build` built, onto every node that may run its task and lacks it
// (a node that is ready and active and whose labels meet the service's
// constraints). The copy is the Engine API's own: `GET /images/{name}/get` on
// the manager, streamed into `POST /images/load` on the node, through the
// node's engine address (`hosts.<name>.docker`, as for exec: 0071). A node is
// told by the image's id: a tag moved to a new build is copied again.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { meets } from '../../plan/label-moves.js';
import { messageOf } from '../docker/api-errors.js';
import type { DockerEngine } from '../docker/engine.js';
import { hostOfNode, type NodeInfo } from './cluster.js';

export interface NodeReach {
  /** The node's engine, or undefined when odp has no address for it. */
  engineOf(nodeId: string): Promise<{ engine?: DockerEngine; node: string }>;
}

export class OfflineImages {
  /** Copies under way or done in this process, by node and image id. */
  private readonly copies = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Dockerode,
    private readonly nodes: NodeReach,
    private readonly note: (text: string) => void = () => undefined,
  ) {}

  /** Makes the body's image present on every node that may run it; no auth to create with. */
  async supply(body: Dockerode.CreateServiceOptions): Promise<undefined> {
    const task = body.TaskTemplate as Dockerode.ContainerTaskSpec;
    const image = task.ContainerSpec?.Image;
    if (!image) return undefined;
    const id = await this.docker
      .getImage(image)
      .inspect()
      .then((i) => i.Id)
      .catch(() => undefined);
    if (!id) {
      throw new OdpError(
        'NOT_FOUND',
        `${image} is not on the swarm's manager: there is nothing to copy to the nodes`,
        {
          hint: 'Build it on the manager (odp images build), or load it there (docker load).',
        },
      );
    }
    const constraints = task.Placement?.Constraints ?? [];
    const nodes = ((await this.docker.listNodes()) as NodeInfo[]).filter(
      (n) =>
        n.Status?.State === 'ready' &&
        (n.Spec?.Availability ?? 'active') === 'active' &&
        constraints.every((c) => meetsNode(c, n)),
    );
    await Promise.all(nodes.map((n) => this.onNode(n, image, id)));
    return undefined;
  }

  private onNode(n: NodeInfo, image: string, id: string): Promise<void> {
    const key = `${n.ID} ${id}`;
    let copy = this.copies.get(key);
    if (!copy) {
      copy = this.copy(n, image, id).catch((e: unknown) => {
        this.copies.delete(key);
        throw e;
      });
      this.copies.set(key, copy);
    }
    return copy;
  }

  private async copy(n: NodeInfo, image: string, id: string): Promise<void> {
    const at = await this.nodes.engineOf(n.ID);
    if (!at.engine) {
      throw new OdpError(
        'ENGINE',
        `offlineImages: node ${hostOfNode(n)} may run ${image}, and odp has no address for its engine to load it there`,
        {
          hint: "Give the node's host its engine's address in platform.yaml (hosts.<host>.docker), or use a registry (registry: in platform.yaml).",
        },
      );
    }
    const docker = at.engine.docker;
    const has = await docker
      .getImage(image)
      .inspect()
      .then((i) => i.Id === id)
      .catch(() => false);
    if (has) return;
    this.note(`copying ${image} to ${at.node}`);
    try {
      const tar = await this.docker.getImage(image).get();
      const out = await docker.loadImage(tar as unknown as NodeJS.ReadableStream, { quiet: true });
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(out, (err: Error | null, events: { error?: string }[]) => {
          const failed = err?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        }),
      );
    } catch (e) {
      throw new OdpError('ENGINE', `could not copy ${image} to node ${at.node}: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }
}

/** A constraint on a node: its labels (label-moves.ts), its id, hostname or role. */
export function meetsNode(constraint: string, n: NodeInfo): boolean {
  const m = /^node\.(id|hostname|role)\s*(==|!=)\s*(.*)$/.exec(constraint.trim());
  if (!m) return meets(constraint, n.Spec?.Labels ?? {});
  const have = { id: n.ID, hostname: n.Description?.Hostname, role: n.Spec?.Role }[m[1] as 'id'];
  return (have === m[3]!.trim()) === (m[2] === '==');
}
