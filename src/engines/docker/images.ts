// The image store of a Docker engine: builds and imports through the API, read
// to the end of their progress streams (a failed step is an event in the stream,
// not an HTTP error), inspections, tag lists, push and pull.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import type { ImageBuild, ImageInfo, ImageStore, RegistryCredentials, RootfsImport } from '../images.js';
import { splitTag } from '../../model/image-ref.js';
import { messageOf, statusOf } from './api-errors.js';
import { followDockerStream } from './stream.js';

export class DockerImages implements ImageStore {
  constructor(readonly docker: Dockerode) {}

  async inspect(ref: string): Promise<ImageInfo | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return {
        id: info.Id,
        labels: info.Config?.Labels ?? {},
        created: info.Created,
        repoDigests: info.RepoDigests ?? [],
      };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw new OdpError('ENGINE', `cannot inspect image ${ref}: ${messageOf(e)}`, { cause: e });
    }
  }

  async list(pattern: string): Promise<{ id: string; tags: string[] }[]> {
    const images = await this.docker.listImages({ filters: JSON.stringify({ reference: [pattern] }) });
    return images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [] }));
  }

  async build(b: ImageBuild, onLine?: (line: string) => void): Promise<void> {
    // No `pull`: parents are built locally, and no registry may be reachable anyway.
    const stream = await this.docker.buildImage(b.context, {
      t: b.tag,
      labels: b.labels ?? {},
      ...(b.hostNetwork ? { networkmode: 'host' } : {}),
      rm: true,
      forcerm: true,
    });
    await followDockerStream(this.docker, stream, b.what ?? `building ${b.tag}`, onLine);
  }

  async importRootfs(i: RootfsImport, onLine?: (line: string) => void): Promise<void> {
    const { repository: repo, tag } = splitTag(i.tag);
    // The image's configuration, as Dockerfile instructions (the API's `changes`).
    const changes = [
      ...Object.entries(i.labels).map(([k, v]) => `LABEL ${k}=${v}`),
      ...Object.entries(i.env).map(([k, v]) => `ENV ${k}=${v}`),
      `CMD ${JSON.stringify(i.cmd)}`,
    ];
    const stream = await this.docker.importImage(i.rootfs, { repo, tag, changes } as object);
    await followDockerStream(this.docker, stream, `importing ${i.tag}`, onLine);
  }

  async tag(source: string, target: string): Promise<void> {
    const { repository: repo, tag } = splitTag(target);
    await this.docker
      .getImage(source)
      .tag({ repo, tag })
      .catch((e: unknown) => {
        throw new OdpError('ENGINE', `cannot tag ${source} as ${target}: ${messageOf(e)}`, { cause: e });
      });
  }

  async remove(ref: string): Promise<void> {
    await this.docker
      .getImage(ref)
      .remove()
      .catch(() => undefined);
  }

  async pull(ref: string): Promise<void> {
    const stream = await this.docker.pull(ref);
    await followDockerStream(this.docker, stream, `pulling ${ref}`);
  }

  async push(
    repository: string,
    tag: string,
    credentials?: RegistryCredentials,
  ): Promise<string | undefined> {
    const registry = repository.slice(0, repository.indexOf('/'));
    // The engine wants an auth header even for an anonymous push: `{}` is that.
    const authconfig = credentials ? authConfig(credentials, registry) : {};
    // An explicit tag: a push without one would send every local tag of the repository.
    const stream = await this.docker
      .getImage(repository)
      .push({ tag, authconfig })
      .catch((e: unknown) => {
        throw new OdpError('ENGINE', `cannot push ${repository}:${tag}: ${messageOf(e)}`, { cause: e });
      });
    const events = (await followDockerStream(this.docker, stream, `pushing ${repository}:${tag}`)) as {
      aux?: { Digest?: string };
    }[];
    return events.find((e) => e.aux?.Digest)?.aux?.Digest;
  }
}

/** The engine's X-Registry-Auth for `registry` (its host[:port]). */
export function authConfig(c: RegistryCredentials, registry: string): Dockerode.AuthConfig {
  return { username: c.username.reveal(), password: c.password.reveal(), serveraddress: registry };
}
