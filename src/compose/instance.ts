// Resolves one instance of a project against the platform: every name and
// number the original document had people fill in by hand, derived by rule.
import { OdpError } from '../errors.js';
import type { BranchTarget } from './branch.js';
import type { PlanSpec, PlatformSpec } from '../platform-spec/platform-schema.js';
import type {
  InstanceName,
  PinnedInstanceSpec,
  ProjectSpec,
  TestInstanceSpec,
} from '../platform-spec/project-schema.js';
import { own } from '../platform-spec/own.js';
import type { Placement } from '../model/stack.js';

export interface ResolvedInstance {
  name: InstanceName;
  /** `<project>-odoo-<instance>`: the stack name, the bucket and the Redis prefix of the original. */
  stackName: string;
  domain: string;
  planName: string;
  plan: PlanSpec;
  image: string;
  tag: string;
  database: string;
  dbUser: string;
  dbPort: number;
  bucket: string | undefined;
  redisPrefix: string;
  marabuntaMode: string;
  allowSerie: boolean;
  placement: Placement;
  env: Record<string, string>;
}

export function stackName(project: Pick<ProjectSpec, 'name'>, instance: InstanceName): string {
  return `${project.name}-odoo-${instance}`;
}

export function instanceSpec(
  project: ProjectSpec,
  instance: InstanceName,
): TestInstanceSpec | PinnedInstanceSpec | undefined {
  return own(project.instances, instance);
}

/** prod names the database; integration defaults to prod's name suffixed `_integration`. */
export function databaseFor(project: ProjectSpec, instance: 'integration' | 'prod'): string | undefined {
  const declared = own(project.instances, instance)?.database;
  if (declared) return declared;
  const prodDb = project.instances.prod?.database;
  if (instance === 'integration' && prodDb) return `${prodDb}_integration`;
  return undefined;
}

export function resolveInstance(
  platform: PlatformSpec,
  project: ProjectSpec,
  instance: InstanceName,
  /** A branch's ephemeral test instance: the test instance under its own names. */
  branch?: BranchTarget,
): ResolvedInstance {
  const spec = instanceSpec(project, instance);
  if (!spec) {
    throw new OdpError('NOT_FOUND', `project ${project.name} declares no ${instance} instance`, {
      hint: `Add instances.${instance} to projects/${project.name}.yaml.`,
    });
  }
  const planName = spec.plan ?? (instance === 'test' ? platform.testPlan : project.plan);
  const plan = own(platform.plans, planName);
  if (!plan) {
    throw new OdpError(
      'SPEC_INVALID',
      `plan "${planName}" used by ${project.name}/${instance} is not declared`,
      {
        hint: `Declare it under plans in platform.yaml (known: ${Object.keys(platform.plans).join(', ')}).`,
      },
    );
  }
  const name = branch?.stackName ?? stackName(project, instance);
  // One object literal, the shared fields first: V8 builds `{ ...common, a, b, … }`
  // some 20 times slower, and a fleet check resolves 3,000 instances.
  const resolved = (
    own: Omit<ResolvedInstance, 'name' | 'stackName' | 'domain' | 'planName' | 'plan' | 'image'>,
  ) => ({
    name: instance,
    stackName: name,
    domain: branch?.domain ?? spec.domain,
    planName,
    plan,
    image: project.image,
    tag: own.tag,
    database: own.database,
    dbUser: own.dbUser,
    dbPort: own.dbPort,
    bucket: own.bucket,
    redisPrefix: own.redisPrefix,
    marabuntaMode: own.marabuntaMode,
    allowSerie: own.allowSerie,
    placement: own.placement,
    env: own.env,
  });

  if (instance === 'test') {
    const t = spec as TestInstanceSpec;
    return resolved({
      tag: t.tag,
      database: branch?.database ?? t.database,
      dbUser: t.dbUser,
      dbPort: 5432,
      bucket: undefined,
      redisPrefix: branch?.redisPrefix ?? t.redisPrefix ?? name,
      marabuntaMode: t.marabuntaMode,
      allowSerie: true,
      placement: { labels: ['application'], global: false, replicas: 1 },
      env: t.env,
    });
  }

  if (branch) throw new OdpError('USAGE', `branch instances are test instances, not ${instance}`);
  const p = spec as PinnedInstanceSpec;
  const database = databaseFor(project, instance);
  if (!database) {
    throw new OdpError('SPEC_INVALID', `${project.name}/${instance} has no database name`, {
      hint: 'Set instances.prod.database (odp project new generates one).',
    });
  }
  const isProd = instance === 'prod';
  const labels = ['application', isProd ? 'production' : 'integration'];
  const matchingHosts = Object.entries(platform.hosts)
    .filter(([, h]) => labels.every((l) => h.labels.includes(l)))
    .map(([name]) => name);
  // On a swarm prod runs one replica per matching host, each pinned to its host in
  // the order platform.yaml lists them (docs/decisions/0073).
  const pinned = isProd && platform.engine === 'swarm' && matchingHosts.length > 0;
  return resolved({
    tag: p.version,
    database,
    dbUser: p.dbUser ?? database,
    dbPort: isProd ? platform.services.postgres.port : platform.services.postgresIntegration.port,
    bucket: p.bucket ?? name,
    redisPrefix: p.redisPrefix ?? name,
    marabuntaMode: p.marabuntaMode,
    allowSerie: false,
    // Prod runs one Odoo per application+production host (Rancher's scheduler.global);
    // on a single Docker host the spec's replica count stands in for the host count.
    placement: pinned
      ? { labels, global: true, replicas: matchingHosts.length, hosts: matchingHosts }
      : {
          labels,
          global: isProd,
          replicas: p.replicas ?? (isProd ? Math.max(1, matchingHosts.length) : 1),
        },
    env: p.env,
  });
}
