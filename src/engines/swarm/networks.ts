// Overlay networks: one per instance (and the platform's tier and edge
// networks), spanning every node, attachable so a job or a debugging container
// can join. Made on the manager; each node sets its part up when a task of the
// network lands there.
import type Dockerode from 'dockerode';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { engineError, until } from './services.js';

/** How long a removed service's tasks may keep a network busy on their nodes. */
const RELEASE_MS = 60_000;

export class SwarmNetworks {
  /** Docker allows two networks of one name; units made in parallel must not make both. */
  private readonly creating = new Map<string, Promise<void>>();

  constructor(private readonly docker: Dockerode) {}

  async list(label: string[]): Promise<string[]> {
    const found = await this.docker.listNetworks({ filters: { label, driver: ['overlay'] } });
    return found.map((n) => n.Name);
  }

  ensure(name: string, labels: Record<string, string>): Promise<void> {
    const pending = this.creating.get(name);
    if (pending) return pending;
    const p = this.make(name, labels).finally(() => this.creating.delete(name));
    this.creating.set(name, p);
    return p;
  }

  private async make(name: string, labels: Record<string, string>): Promise<void> {
    if ((await this.named(name)).length > 0) return;
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'overlay',
        Attachable: true,
        Labels: labels,
        CheckDuplicate: true,
      });
    } catch (e) {
      // Another odp process made it first: what we wanted.
      if (statusOf(e) !== 409) throw engineError(`cannot create network ${name}`, e);
    }
    // CheckDuplicate is best effort: keep the oldest, so the name means one network.
    for (const extra of (await this.named(name)).slice(1))
      await this.docker
        .getNetwork(extra.Id)
        .remove()
        .catch(() => undefined);
  }

  private async named(name: string): Promise<Dockerode.NetworkInspectInfo[]> {
    const found = await this.docker.listNetworks({ filters: { name: [name] } });
    return found
      .filter((n) => n.Name === name)
      .sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
  }

  /**
   * Removes the network once no task uses it: the nodes of a service just
   * removed release their endpoints a moment after its tasks are gone.
   */
  async remove(name: string): Promise<void> {
    await until(`network ${name} to be released by its tasks`, RELEASE_MS, async () => {
      try {
        await this.docker.getNetwork(name).remove();
        return true;
      } catch (e) {
        if (statusOf(e) === 404) return true;
        if (/active endpoints|in use/i.test(messageOf(e))) return undefined;
        throw engineError(`cannot remove network ${name}`, e);
      }
    });
  }
}
