// The original document's common stacks as one platform stack: the PostgreSQL
// cluster (primary + streaming replica), the integration PostgreSQL, Redis for
// prod and for integration, the embedded S3-compatible server, and the edge.
// Each tier has a network that its instances join, where they reach `db`,
// `redis` and (embedded) `s3` through links, as Rancher's external_links did.
import { type Service, type Stack, unitName } from '../model/stack.js';
import { steadyHealth } from './health.js';
import { Secret, type EnvValue } from '../secret.js';
import type { PlatformSpec } from '../platform-spec/platform-schema.js';

export type Tier = 'prod' | 'integration';

export function platformStackName(platform: Pick<PlatformSpec, 'name'>): string {
  return `${platform.name}-shared`;
}

/** The container name of a shared service (one replica each). */
export function sharedUnit(platform: Pick<PlatformSpec, 'name'>, service: string): string {
  return unitName(platformStackName(platform), service, 1);
}

export function tierNetwork(platform: Pick<PlatformSpec, 'name'>, tier: Tier): string {
  return `${platform.name}-shared-${tier}`;
}

export function edgeNetwork(platform: Pick<PlatformSpec, 'name'>): string {
  return `${platform.name}-edge`;
}

/**
 * The edge's services: on a swarm one per edge host, in the order the spec lists
 * them; on one Docker engine, whose every host is that one machine, one. The
 * first keeps the name `edge` that a platform of one edge has always had; the
 * others are named for their host.
 */
export function edgeServices(
  platform: Pick<PlatformSpec, 'services' | 'engine'>,
): { service: string; host: string }[] {
  const hosts = [...new Set(platform.services.edge.hosts)];
  return (platform.engine === 'swarm' ? hosts : hosts.slice(0, 1)).map((host, i) => ({
    service: i === 0 ? 'edge' : `edge-${host}`,
    host,
  }));
}

/** The edges' units with their hosts (edgeServices). */
export function edgeUnits(
  platform: Pick<PlatformSpec, 'name' | 'services' | 'engine'>,
): { unit: string; host: string }[] {
  return edgeServices(platform).map((e) => ({ unit: sharedUnit(platform, e.service), host: e.host }));
}

/** Secrets of the platform itself, in `platform.env.gpg`; `platform up` generates missing ones. */
export const platformSecretKeys = [
  'POSTGRES_PASSWORD',
  'POSTGRES_REPLICATION_PASSWORD',
  'POSTGRES_INTEGRATION_PASSWORD',
] as const;

/** Where Odoo containers of a tier reach the shared services. */
export function tierLinks(platform: PlatformSpec, tier: Tier): Record<string, string> {
  return {
    db: sharedUnit(platform, `postgres-${tier}`),
    redis: sharedUnit(platform, `redis-${tier}`),
    ...(platform.services.storage.embedded ? { s3: sharedUnit(platform, 's3') } : {}),
  };
}

/** The embedded server's port in its container; containers reach it as `s3:4569`. */
export const EMBEDDED_S3_PORT = 4569;

/** Where odp reaches the embedded server on this host: the port of storage.endpoint. */
export function embeddedS3HostPort(platform: PlatformSpec): number {
  const url = new URL(platform.services.storage.endpoint);
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

export function composePlatform(
  platform: PlatformSpec,
  secrets: ReadonlyMap<string, Secret>,
): { stack: Stack; missingSecrets: string[] } {
  const name = platformStackName(platform);
  const missing: string[] = [];
  const secret = (k: string): Secret => {
    const s = secrets.get(k);
    if (!s) missing.push(k);
    return s ?? new Secret('');
  };
  const labels = (service: string) => ({
    'odp.platform': platform.name,
    'odp.project': '_platform',
    'odp.instance': 'shared',
    'odp.service': service,
  });
  const on = (host: string, extra: string[] = []) => ({
    labels: [`host:${host}`, ...extra],
    global: false,
    replicas: 1,
  });
  const volume = (service: string, target: string) => ({ volume: `${name}-${service}`, target });
  const quick = steadyHealth(120);
  const base = (service: string, image: string): Service => ({
    name: service,
    role: 'db',
    image,
    env: new Map<string, EnvValue>(),
    externalNetworks: [],
    ports: [],
    volumes: [],
    dependsOn: [],
    placement: on(platform.services.postgres.primary),
    labels: labels(service),
  });
  const s = platform.services;
  // Consumers reach `db`, `redis` and `s3` through links on one Docker host (tierLinks);
  // a swarm has none, so there the service itself answers to the name on its tier's network.
  const swarm = platform.engine === 'swarm';
  const net = (tier: Tier, as?: string) => ({
    name: tierNetwork(platform, tier),
    aliases: {},
    ...(swarm && as ? { answersAs: [as] } : {}),
  });

  const postgres = (
    service: string,
    tier: Tier,
    host: string,
    password: Secret,
    extra: [string, EnvValue][] = [],
  ) => ({
    ...base(service, platform.images.postgres),
    env: new Map<string, EnvValue>([
      ['POSTGRES_USER', 'postgres'],
      ['POSTGRES_PASSWORD', password],
      ...extra,
    ]),
    fileSecrets: {
      POSTGRES_PASSWORD: 'POSTGRES_PASSWORD_FILE',
      POSTGRES_REPLICATION_PASSWORD: 'POSTGRES_REPLICATION_PASSWORD_FILE',
    },
    externalNetworks: [net(tier, 'db')],
    ports: [{ container: 5432, published: 0 }],
    volumes: [volume(service, '/var/lib/postgresql/data')],
    health: { command: ['pg_isready', '-U', 'postgres', '-h', '127.0.0.1'], ...quick },
    placement: on(host),
  });
  const replication: [string, EnvValue][] = [
    ['POSTGRES_REPLICATION_USER', 'replicator'],
    ['POSTGRES_REPLICATION_PASSWORD', secret('POSTGRES_REPLICATION_PASSWORD')],
  ];
  const superuser = secret('POSTGRES_PASSWORD');
  const services: Service[] = [postgres('postgres-prod', 'prod', s.postgres.primary, superuser, replication)];
  if (s.postgres.replica) {
    services.push({
      ...postgres('postgres-replica', 'prod', s.postgres.replica, superuser, [
        ...replication,
        ['POSTGRES_PRIMARY_HOST', sharedUnit(platform, 'postgres-prod')],
      ]),
      // Read-only: never what `db` names.
      externalNetworks: [net('prod')],
      dependsOn: ['postgres-prod'],
    });
  }
  services.push(
    postgres(
      'postgres-integration',
      'integration',
      s.postgresIntegration.host,
      secret('POSTGRES_INTEGRATION_PASSWORD'),
    ),
  );
  for (const tier of ['prod', 'integration'] as const) {
    const host = tier === 'prod' ? s.redis.host : s.redisIntegration.host;
    services.push({
      ...base(`redis-${tier}`, platform.images.redis),
      role: 'redis',
      // Sessions survive a restart: append-only file, fsync every second.
      command: ['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec', '--protected-mode', 'no'],
      externalNetworks: [net(tier, 'redis')],
      ports: [{ container: 6379, published: 0 }],
      volumes: [volume(`redis-${tier}`, '/data')],
      health: { command: ['redis-cli', 'ping'], ...quick },
      placement: on(host),
    });
  }
  if (s.storage.embedded) {
    services.push({
      ...base('s3', platform.images.s3),
      role: 'db',
      externalNetworks: [net('prod', 's3'), net('integration', 's3')],
      ports: [{ container: EMBEDDED_S3_PORT, published: embeddedS3HostPort(platform) }],
      volumes: [volume('s3', '/data')],
      health: { http: { path: '/', port: EMBEDDED_S3_PORT }, ...quick },
      placement: on(s.edge.hosts[0]!),
    });
  }
  // One edge per edge host, each pinned to its host (several edges stand behind
  // DNS or a floating address; odp keeps them all in step, edge-set.ts).
  for (const { service: edgeService, host } of edgeServices(platform))
    services.push({
      ...base(edgeService, platform.images.haproxy),
      role: 'nginx',
      externalNetworks: [{ name: edgeNetwork(platform), aliases: {} }],
      ports: [
        { container: 80, published: s.edge.httpPort, hostIp: s.edge.bind },
        { container: 443, published: s.edge.httpsPort, hostIp: s.edge.bind },
      ],
      // The edge's configuration and certificates live on this volume, pushed by odp
      // and reloaded without dropping connections; a restarted edge keeps the last good one.
      volumes: [volume(edgeService, '/usr/local/etc/haproxy')],
      health: { http: { path: '/.odp/edge-health', port: 80 }, ...quick },
      placement: on(host, ['edge']),
    });
  const stack: Stack = {
    platform: platform.name,
    project: '_platform',
    instance: 'shared',
    name,
    domain: platform.domain,
    services,
    volumes: services.flatMap((x) => x.volumes.map((v) => v.volume)),
    network: name,
  };
  return { stack, missingSecrets: missing };
}
