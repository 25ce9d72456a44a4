// UnitSpec → a Swarm ServiceSpec: one service per unit (docs/decisions/0069).
// The container part is Docker's own translation (container-spec.ts), moved
// into a task template, so both engines run a unit with the same image,
// command, environment, labels, health check and mounts. Pure: checked
// without a swarm (test/unit/swarm-spec.test.ts).
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { containerSpec, type EngineFeatures } from '../docker/container-spec.js';
import { LABEL, type UnitSpec } from '../engine.js';
import { secretFiles, secretMounts, withSecretFiles } from './secrets.js';

const NS = 1_000_000_000;

/** How long a task has to stop after SIGTERM before it is killed (Docker's StopTimeout for units). */
export const STOP_GRACE_SECONDS = 30;

/** On a sidecar's service: the unit it reaches by name and whose placement it has (0072). */
export const PEER_LABEL = 'odp.peer-of';

/** Set on a job (a one-off or a task), so a sweep can tell them from units. */
export const JOB_LABEL = 'odp.job';

/** The labels a unit's named volumes are made with on the node its task lands on. */
const VOLUME_LABELS = [LABEL.platform, LABEL.project, LABEL.instance];

/**
 * The service that runs `u`: replicated with `replicas` tasks (0: created and
 * not started), on its networks (the unit's own with its service name as an
 * alias), placed by its constraints.
 */
export function serviceSpec(
  u: UnitSpec,
  replicas: 0 | 1,
  features?: EngineFeatures,
): Dockerode.CreateServiceOptions {
  const owner = u.sharesNetworkWithUnit;
  if (owner && !u.service.peerHostEnv) {
    // Swarm has no `container:` network mode: a sidecar cannot live in its owner's namespace.
    throw new OdpError(
      'ENGINE',
      `${u.service.name} shares the network of ${owner}: Swarm has no shared network namespace`,
      { hint: 'A sidecar on Swarm must be told its owner by name (peerHostEnv, docs/decisions/0072).' },
    );
  }
  // A sidecar runs as a service of its own that reaches its owner by name (0072).
  const { sharesNetworkWithUnit: _owner, ...alone } = u;
  const c = containerSpec(alone, features);
  if (owner && u.service.peerHostEnv) {
    // The owner's name on the stack's network alone: the bare name is the sidecar's own
    // on the edge network, where it stands for its owner.
    c.Env = [...(c.Env ?? []), `${u.service.peerHostEnv}=${ownName(owner, u.network)}`];
    c.Labels = { ...c.Labels, [PEER_LABEL]: owner };
  }
  // Secret variables the image reads from files too are Swarm secrets (0075).
  const secrets = secretFiles(u, c.name!);
  c.Env = withSecretFiles(c.Env ?? [], secrets);
  // The owner published its sidecars' ports on Docker (they shared its namespace);
  // here each publishes its own, and a sidecar's loopback ports are not published.
  const publish = u.publish.filter((p) => u.service.ports.some((q) => q.container === p.container));
  const labels = c.Labels ?? {};
  return {
    Name: c.name!,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: c.Image!,
        // Docker's Cmd is the image's arguments; a service's Command would replace its entrypoint.
        ...(c.Cmd ? { Args: c.Cmd as string[] } : {}),
        Env: c.Env ?? [],
        ...(secrets.length ? { Secrets: secretMounts(secrets) } : {}),
        Labels: labels,
        ...(c.Hostname ? { Hostname: c.Hostname } : {}),
        // No Swarm health check, the image's own switched off too: Swarm gives a task its
        // DNS record only once its check passed, and Docker 20.10 runs the first check one
        // whole interval after the start (no start interval): every name (odoo for its
        // sidecar, the sidecar for the edge, db for Odoo) would be unknown for a minute
        // after each start. Readiness is odp's probe (waitReady), traffic is gated by the
        // edge's own checks, as on one Docker host, whose engine never acts on health
        // either (docs/decisions/0074).
        HealthCheck: { Test: ['NONE'] },
        Mounts: u.service.volumes.map((v) => ({
          Type: 'volume' as const,
          Source: v.volume,
          Target: v.target,
          // Made by the node's engine when the task first lands there, with these labels.
          VolumeOptions: {
            NoCopy: false,
            Labels: pick(labels, VOLUME_LABELS),
            DriverConfig: { Name: 'local', Options: {} },
          },
        })),
        StopGracePeriod: STOP_GRACE_SECONDS * NS,
      },
      // A unit that exits 0 has finished; one that fails is started again (Docker's
      // unless-stopped, less the restart of a clean exit: Swarm has no such policy).
      RestartPolicy: { Condition: 'on-failure' },
      Placement: { Constraints: u.placement?.constraints ?? [] },
      // Docker's legacy links (`db` → the tier's PostgreSQL, for this container only) have
      // no Swarm equivalent: the shared service answers to `db` on its tier's network
      // instead (`answersAs`, composed so for a swarm), and links are not mapped.
      Networks: [
        { Target: u.network, Aliases: [u.service.name, ownName(c.name!, u.network)] },
        // A sidecar answers to its owner's name there: where the edge looks the owner up (0072).
        ...u.service.externalNetworks.map((n) => {
          const as = [...(n.answersAs ?? []), ...(owner ? [owner] : [])];
          return { Target: n.name, ...(as.length ? { Aliases: as } : {}) };
        }),
      ],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '20m', 'max-file': '3' } },
    },
    Mode: { Replicated: { Replicas: replicas } },
    EndpointSpec: {
      // No IPVS on the machines this runs on (no VIPs, no routing mesh): each task gets
      // its own DNS record, and published ports bind on the task's node only.
      Mode: 'dnsrr',
      Ports: publish.map((p) => ({
        Protocol: 'tcp' as const,
        TargetPort: p.container,
        // Host mode binds all of the node's addresses: the spec's bind address is not kept.
        ...(p.host ? { PublishedPort: p.host } : {}),
        PublishMode: 'host' as const,
      })),
    },
  };
}

/**
 * A unit's name on its own network only, `<unit>.<network>`: how a sidecar
 * reaches its owner, whose bare name the sidecar itself answers to on the edge
 * network (Docker's DNS would give a container on both networks its own address).
 */
export function ownName(unit: string, network: string): string {
  return `${unit}.${network}`;
}

/**
 * A job that runs `command` once to its end in a unit made like `u` (its
 * networks, environment, placement), without its ports or health check: a
 * failure is final, never retried (restart condition none; an image's own
 * HEALTHCHECK would kill it, so it is switched off).
 */
export function jobSpec(u: UnitSpec, command: string[]): Dockerode.CreateServiceOptions {
  const { health: _health, ...service } = u.service;
  const s = serviceSpec({ ...u, service, publish: [] }, 1);
  const task = s.TaskTemplate as Dockerode.ContainerTaskSpec;
  return asJob({
    ...s,
    TaskTemplate: { ...task, ContainerSpec: { ...task.ContainerSpec, Args: command } },
  });
}

/** A job of `image` alone: no network of the platform's, no volume, anywhere in the swarm. */
export function oneOffSpec(
  name: string,
  image: string,
  command: string[],
  env: Record<string, string>,
): Dockerode.CreateServiceOptions {
  return asJob({
    Name: name,
    Labels: { 'odp.one-off': 'true' },
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Args: command,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: { 'odp.one-off': 'true' },
      },
    },
  });
}

/**
 * A job: one task, restart condition none, so it runs once and one failure is
 * final. Not Swarm's `replicated-job` mode: on Docker 20.10 the tasks of a
 * removed job, and their containers, are never removed (moby/moby#44312, fixed
 * in Moby 24); a replicated service of one task that is never restarted runs
 * the same way and goes without a trace (docs/decisions/0069).
 */
function asJob(s: Dockerode.CreateServiceOptions): Dockerode.CreateServiceOptions {
  const task = s.TaskTemplate as Dockerode.ContainerTaskSpec;
  return {
    ...s,
    Labels: { ...s.Labels, [JOB_LABEL]: 'true' },
    TaskTemplate: {
      ...task,
      ContainerSpec: { ...task.ContainerSpec, HealthCheck: { Test: ['NONE'] } },
      RestartPolicy: { Condition: 'none' },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

function pick(from: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((k) => (from[k] === undefined ? [] : [[k, from[k]]])));
}
