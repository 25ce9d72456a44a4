// (platform, project, instance, secrets) → the desired Stack. This is where the
// original document's stack layouts live: test = db + redis + odoo + nginx
// sidecar on its own; integration and prod = odoo + nginx sidecar joined to the
// shared services of their tier, where `db` and `redis` resolve as they did
// through Rancher's external links.
import type { Service, Stack } from '../model/stack.js';
import { Secret, type EnvValue } from '../secret.js';
import { secretsForInstance } from '../secrets/scope.js';
import type { PlatformSpec } from '../platform-spec/platform-schema.js';
import type { InstanceName, ProjectSpec } from '../platform-spec/project-schema.js';
import type { BranchTarget } from './branch.js';
import { resolveInstance, type ResolvedInstance } from './instance.js';
import { odooEnv } from './odoo-env.js';
import { renderNginxConf } from '../render/nginx-conf.js';
import { steadyHealth } from './health.js';
import { edgeNetwork, tierLinks, tierNetwork } from './platform.js';

export interface ComposeResult {
  stack: Stack;
  instance: ResolvedInstance;
  missingSecrets: string[];
}

export function composeStack(
  platform: PlatformSpec,
  project: ProjectSpec,
  instanceName: InstanceName,
  allSecrets: ReadonlyMap<string, Secret>,
  /** A branch's ephemeral test instance (docs/decisions/0020). */
  branch?: BranchTarget,
): ComposeResult {
  const inst = resolveInstance(platform, project, instanceName, branch);
  const secrets = secretsForInstance(allSecrets, instanceName);
  const { env, command, missingSecrets } = odooEnv(platform, project, inst, secrets);
  const labels = (service: string): Record<string, string> => ({
    'odp.platform': platform.name,
    'odp.project': project.name,
    'odp.instance': branch?.instanceLabel ?? instanceName,
    'odp.service': service,
    ...(branch ? { 'odp.branch': branch.branch } : {}),
  });
  const network = inst.stackName;
  const single = { labels: inst.placement.labels, global: false, replicas: 1 };
  // On one Docker host the sidecar lives in Odoo's network namespace. Swarm has
  // none to share: the sidecar is a service of its own, on its Odoo's node, told
  // its Odoo's name in NGX_ODOO_HOST and looking it up per request; on the edge
  // network it answers to its Odoo's name, so the edge's routes are the same (0072).
  const ownNamespace = platform.engine === 'swarm';

  const odoo: Service = {
    name: 'odoo',
    role: 'odoo',
    image: `${inst.image}:${inst.tag}`,
    ...(command ? { command } : {}),
    env,
    // The official image reads PASSWORD_FILE; camptocamp's reads variables only (0075).
    ...(project.flavour === 'official' ? { fileSecrets: { PASSWORD: 'PASSWORD_FILE' } } : {}),
    // Every instance joins the edge network (the edge reaches its nginx by Odoo's name);
    // integration and prod also join their tier's network, where `db`, `redis`
    // (and `s3` for embedded storage) are links to the shared services.
    externalNetworks: [
      ...(ownNamespace ? [] : [{ name: edgeNetwork(platform), aliases: {} }]),
      ...(instanceName === 'test'
        ? []
        : [{ name: tierNetwork(platform, instanceName), aliases: tierLinks(platform, instanceName) }]),
    ],
    ports: [{ container: 8069 }, { container: 8072 }],
    volumes: [],
    dependsOn: instanceName === 'test' ? ['db', 'redis'] : [],
    // Both image flavours wait for PostgreSQL in their entrypoint (wait_postgres.sh,
    // wait-for-psql.py): starting Odoo with the database overlaps their start-ups.
    startsAfter: 'started',
    // Odoo's first start runs its setup migration: a long start period.
    health: { http: { path: '/web/health', port: 8069 }, ...steadyHealth(300) },
    placement: inst.placement,
    labels: labels('odoo'),
  };

  const nginx: Service = {
    name: 'nginx',
    role: 'nginx',
    image: platform.images.nginx,
    // NGX_ODOO_HOST for camptocamp/odoo-nginx images; NGINX_CONF for odp's own.
    env: new Map<string, EnvValue>([
      ...(ownNamespace ? [] : ([['NGX_ODOO_HOST', '127.0.0.1']] as const)),
      [
        'NGINX_CONF',
        renderNginxConf(
          ownNamespace ? { odooHost: '${NGX_ODOO_HOST}', resolver: '127.0.0.11' } : { odooHost: '127.0.0.1' },
        ),
      ],
    ]),
    sharesNetworkWith: 'odoo',
    ...(ownNamespace ? { peerHostEnv: 'NGX_ODOO_HOST' } : {}),
    // The edge reaches the sidecar: in Odoo's namespace, through Odoo's edge network.
    externalNetworks: ownNamespace ? [{ name: edgeNetwork(platform), aliases: {} }] : [],
    ports: [{ container: 80 }],
    volumes: [],
    dependsOn: ['odoo'],
    // It needs Odoo's network namespace, not Odoo ready: its own health check waits for that.
    startsAfter: 'started',
    // Healthy when a request goes through it to Odoo: the whole route works.
    // Its start period is Odoo's: it cannot pass before Odoo does.
    health: { http: { path: '/web/health', port: 80 }, ...steadyHealth(300) },
    placement: inst.placement,
    labels: labels('nginx'),
  };

  const services: Service[] = [odoo, nginx];
  const volumes: string[] = [];
  if (instanceName === 'test') {
    const dbVolume = `${inst.stackName}-db`;
    volumes.push(dbVolume);
    services.unshift(
      {
        name: 'db',
        role: 'db',
        image: platform.images.postgres,
        env: new Map<string, EnvValue>([
          ['POSTGRES_USER', inst.dbUser],
          ['POSTGRES_PASSWORD', env.get('DB_PASSWORD') ?? env.get('PASSWORD') ?? ''],
        ]),
        fileSecrets: { POSTGRES_PASSWORD: 'POSTGRES_PASSWORD_FILE' },
        externalNetworks: [],
        ports: [{ container: 5432 }],
        volumes: [{ volume: dbVolume, target: '/var/lib/postgresql/data' }],
        dependsOn: [],
        health: { command: ['pg_isready', '-U', inst.dbUser], ...quickHealth },
        placement: single,
        labels: labels('db'),
      },
      {
        name: 'redis',
        role: 'redis',
        image: platform.images.redis,
        command: ['redis-server', '--appendonly', 'no', '--protected-mode', 'no', '--save', ''],
        env: new Map(),
        externalNetworks: [],
        ports: [{ container: 6379 }],
        volumes: [],
        dependsOn: [],
        health: { command: ['redis-cli', 'ping'], ...quickHealth },
        placement: single,
        labels: labels('redis'),
      },
    );
  }

  const stack: Stack = {
    platform: platform.name,
    project: project.name,
    instance: instanceName,
    name: inst.stackName,
    domain: inst.domain,
    services,
    volumes,
    network,
  };
  return { stack, instance: inst, missingSecrets };
}

const quickHealth = steadyHealth(120);
