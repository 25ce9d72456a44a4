// The desired state of one instance, engine-neutral. `compose/` produces it from
// the spec; `render/` turns it into files; engines make the world match it.
import type { EnvValue } from '../secret.js';
import type { InstanceName } from '../platform-spec/project-schema.js';

export type ServiceRole = 'odoo' | 'nginx' | 'db' | 'redis' | 'letsencrypt';

export interface Placement {
  /** Host labels a node must carry (e.g. application, production). */
  labels: string[];
  /** One task per matching host (Rancher's scheduler.global, Swarm's global mode). */
  global: boolean;
  /** Replica count when not global (and on a single Docker host). */
  replicas: number;
  /**
   * On an engine of many hosts, the host each replica is pinned to, in replica
   * order: a global service runs one replica per matching host (docs/decisions/0073).
   */
  hosts?: string[];
}

export interface HealthCheck {
  /** HTTP path probed on `port`, or a command run inside the container. */
  http?: { path: string; port: number };
  command?: string[];
  /** Between two checks of a running unit: tens of seconds, each check is a process in the container. */
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
  /**
   * Between two checks during the start period, on engines that support it
   * (Docker ≥ 25, API 1.44; an older engine checks at `intervalSeconds` from the start).
   */
  startIntervalSeconds?: number;
}

export interface VolumeMount {
  volume: string;
  target: string;
}

export interface Service {
  name: string;
  role: ServiceRole;
  image: string;
  command?: string[];
  /** Insertion order is kept: renderers print variables in the order the original files did. */
  env: Map<string, EnvValue>;
  /**
   * Secret variables the image can also read from a file, and the variable that
   * names the file (`PASSWORD` → `PASSWORD_FILE` for the official Odoo image). An
   * engine that keeps secrets apart (Swarm) hands them over as files; the others
   * as the variables (docs/decisions/0075).
   */
  fileSecrets?: Record<string, string>;
  /** Run in another service's network namespace (the nginx sidecar shares Odoo's). */
  sharesNetworkWith?: string;
  /**
   * For an engine that cannot share a network namespace (Swarm): the variable
   * through which the sidecar is told its owner unit's name, which it reaches
   * over the stack's network instead of 127.0.0.1 (docs/decisions/0072).
   */
  peerHostEnv?: string;
  /** Shared-platform networks joined besides the instance's own (with aliases for db/redis). */
  externalNetworks: {
    name: string;
    /** Legacy links for this service only: `db` → the unit it names (Docker's, as Rancher's external_links). */
    aliases: Record<string, string>;
    /**
     * Names this service answers to on that network, for every member (a shared
     * service's `db`, `redis`, `s3` on its tier's network): how consumers find it
     * where links do not exist (Swarm, docs/decisions/0072).
     */
    answersAs?: string[];
  }[];
  /**
   * Container ports. `published` puts one on the host: 0 for an ephemeral port on
   * loopback (how odp itself reaches a service), N for that fixed port on `hostIp`.
   */
  ports: { container: number; published?: number; hostIp?: string }[];
  volumes: VolumeMount[];
  dependsOn: string[];
  /**
   * What this service needs of its dependencies before it starts: `healthy` (the
   * default), or only `started` when it waits for them itself (Odoo images wait
   * for PostgreSQL in their entrypoint; a sidecar needs its owner's namespace only).
   */
  startsAfter?: 'healthy' | 'started';
  health?: HealthCheck;
  placement: Placement;
  labels: Record<string, string>;
}

export interface Stack {
  platform: string;
  project: string;
  /** `shared` for the platform's own stack. */
  instance: InstanceName | 'shared';
  /** `<project>-odoo-<instance>`, the original document's stack name. */
  name: string;
  domain: string;
  services: Service[];
  volumes: string[];
  /** The instance's own network, where services find each other by name. */
  network: string;
}

export function serviceByRole(stack: Stack, role: ServiceRole): Service | undefined {
  return stack.services.find((s) => s.role === role);
}

/**
 * Unit names: `<stack>-<service>-<replica>`, stable so a plan can name what it
 * replaces; a pinned instance's units carry their release as well,
 * `<stack>-<service>-<release>-<replica>`, so two releases run side by side
 * during an upgrade and nothing is ever renamed (docs/decisions/0058).
 */
export function unitName(stack: string, service: string, replica: number, release?: string): string {
  return release ? `${stack}-${service}-${release}-${replica}` : `${stack}-${service}-${replica}`;
}
