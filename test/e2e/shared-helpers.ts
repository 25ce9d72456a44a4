// Setup of the shared-services end-to-end test: the example platform under a
// unique name with the embedded S3 server, its shared stack (without the edge,
// which has its own test) composed, planned and applied with the machinery
// `odp` itself uses, where to reach each service from the host, and a cleanup
// that removes everything labelled with the test platform, pass or fail.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/pebble.js';
import { composePlatform, platformSecretKeys, tierNetwork } from '../../src/compose/platform.js';
import { DockerEngine } from '../../src/engines/docker/engine.js';
import { LABEL } from '../../src/engines/engine.js';
import { buildImages } from '../../src/images/build.js';
import { makeDocker } from '../../src/engines/docker/client.js';
import { DockerImages } from '../../src/engines/docker/images.js';
import type { Stack } from '../../src/model/stack.js';
import { applyPlan } from '../../src/ops/instance/apply-plan.js';
import { silentProgress } from '../../src/progress.js';
import { planStack, type Plan } from '../../src/plan/plan.js';
import { Secret } from '../../src/secret.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema, type PlatformSpec } from '../../src/platform-spec/platform-schema.js';

export const docker = makeDocker();
export const engine = new DockerEngine(docker);
export const images = new DockerImages(docker);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `<prefix>` + 4 random lower-case letters or digits. */
export function uniqueName(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function randomSecret(): Secret {
  return new Secret(randomBytes(18).toString('base64url'));
}

/** The images the shared data services run (cached by input hash: instant once built). */
export async function buildSharedImages(): Promise<void> {
  await engine.ping();
  await buildImages({ images, only: ['postgres', 'redis', 's3rver'] });
}

/** examples/platform/platform.yaml under `name`, with the embedded S3 server on loopback. */
export async function examplePlatform(name: string): Promise<PlatformSpec> {
  const s3Port = await freePort();
  const file = new URL('../../examples/platform/platform.yaml', import.meta.url);
  const d = parse(await readFile(file, 'utf8')) as Data;
  d.name = name;
  d.services.storage.embedded = true;
  d.services.storage.endpoint = `http://127.0.0.1:${s3Port}`;
  return parseSpec('platform.yaml', stringify(d), platformSchema).value;
}

export interface SharedPlatform {
  spec: PlatformSpec;
  secrets: Map<string, Secret>;
  stack: Stack;
  /** Labels of everything odp makes for the shared stack. */
  labels: Record<string, string>;
}

/** The shared stack with generated secrets, the edge left out (another test covers it). */
export function sharedStack(spec: PlatformSpec): SharedPlatform {
  const secrets = new Map(platformSecretKeys.map((k) => [k, randomSecret()] as const));
  const { stack: full, missingSecrets } = composePlatform(spec, secrets);
  if (missingSecrets.length > 0) throw new Error(`missing secrets: ${missingSecrets.join(', ')}`);
  const services = full.services.filter((s) => s.name !== 'edge');
  const stack: Stack = {
    ...full,
    services,
    volumes: full.volumes.filter((v) => services.some((s) => s.volumes.some((m) => m.volume === v))),
  };
  const labels = {
    [LABEL.platform]: spec.name,
    [LABEL.project]: stack.project,
    [LABEL.instance]: stack.instance,
  };
  return { spec, secrets, stack, labels };
}

const selector = (p: SharedPlatform) => ({
  platform: p.spec.name,
  project: p.stack.project,
  instance: p.stack.instance,
});

/** Plans the stack against what runs now, as `odp` does; never the test instance's fresh rebuild. */
export async function planShared(p: SharedPlatform): Promise<Plan> {
  const images = [...new Set(p.stack.services.map((s) => s.image))];
  const imageIds: Record<string, string> = {};
  for (const image of images) {
    const id = await engine.resolveImage(image);
    if (!id) throw new Error(`image ${image} is missing`);
    imageIds[image] = id;
  }
  const observed = await engine.observe(selector(p));
  return planStack({ stack: p.stack, imageIds, observed, freshOnChange: false });
}

export async function applyShared(p: SharedPlatform): Promise<Plan> {
  // The tier networks the services join (the engine also makes them on demand).
  for (const tier of ['prod', 'integration'] as const)
    await engine.ensureNetwork(tierNetwork(p.spec, tier), p.labels);
  const plan = await planShared(p);
  await applyPlan(engine, plan, { labels: p.labels, healthTimeoutMs: 180_000, progress: silentProgress });
  return plan;
}

/** The loopback port the unit publishes for `containerPort`, read back from the engine. */
export async function hostPort(p: SharedPlatform, unit: string, containerPort: number): Promise<number> {
  const observed = await engine.observe(selector(p));
  const port = observed.units.find((u) => u.name === unit)?.ports[containerPort];
  if (!port) throw new Error(`${unit} publishes no port for ${containerPort}`);
  return port;
}

/** Retries `fn` until it returns a value (not undefined) or `timeoutMs` passes; the last error is kept. */
export async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)}s${why}`);
    }
    await sleep(250);
  }
}

/** What carries the platform's label on the engine: containers, networks, volumes. */
export async function labelled(
  platform: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = JSON.stringify({ label: [`${LABEL.platform}=${platform}`] });
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return {
    containers: c.map((x) => (x.Names[0] ?? x.Id).replace(/^\//, '')),
    networks: n.map((x) => x.Name),
    volumes: (v.Volumes ?? []).map((x) => x.Name),
  };
}

/** Removes every container (with its anonymous volumes), network and volume labelled with the platform. */
export async function removePlatform(platform: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL.platform}=${platform}`] });
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  for (const n of await docker.listNetworks({ filters }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove({ force: true })
      .catch(() => undefined);
}
