// `odp provision PROJECT integration|prod` as a plan (decision 0061): what an
// instance needs on the shared services, each an idempotent step that reads what
// exists and changes only what differs: its role, its database, CONNECT kept to
// that role, its bucket, its Redis prefix. The run reports per step whether it
// created, updated or left it. No secret is in a step: the role's password is
// read from the instance's secrets when the step runs. Pure.
import { formatSteps, StepList, type OperationPlan, type PlanStep } from './step.js';

type StepBase = Omit<PlanStep, 'kind'>;

export type ProvisionStep = StepBase &
  (
    | { kind: 'ensure-role'; role: string; server: string }
    | { kind: 'ensure-database'; database: string; owner: string; server: string }
    | { kind: 'restrict-connect'; database: string; role: string; server: string }
    | { kind: 'ensure-bucket'; bucket: string; endpoint: string }
    | { kind: 'claim-redis-prefix'; prefix: string }
  );

export interface ProvisionFacts {
  project: string;
  instance: 'integration' | 'prod';
  role: string;
  database: string;
  /** The PostgreSQL server: the cluster for prod, the integration server for integration. */
  server: string;
  bucket: string;
  /** Where the object storage answers. */
  endpoint: string;
  redisPrefix: string;
}

export type ProvisionPlan = OperationPlan<ProvisionStep>;

export function planProvision(f: ProvisionFacts): ProvisionPlan {
  const list = new StepList<ProvisionStep>();
  const role = list.add({
    id: `ensure-role:${f.role}`,
    kind: 'ensure-role',
    role: f.role,
    server: f.server,
    cause: "the instance logs in as a role of its own, with its secrets' DB_PASSWORD",
    after: [],
  });
  const database = list.add({
    id: `ensure-database:${f.database}`,
    kind: 'ensure-database',
    database: f.database,
    owner: f.role,
    server: f.server,
    cause: 'owned by its role, UTF-8',
    after: [role],
  });
  list.add({
    id: `restrict-connect:${f.database}`,
    kind: 'restrict-connect',
    database: f.database,
    role: f.role,
    server: f.server,
    cause: "no other customer's role may open it (PostgreSQL grants CONNECT to PUBLIC)",
    after: [database],
  });
  list.add({
    id: `ensure-bucket:${f.bucket}`,
    kind: 'ensure-bucket',
    bucket: f.bucket,
    endpoint: f.endpoint,
    cause: "the instance's files are stored there",
    after: [],
  });
  list.add({
    id: `claim-redis-prefix:${f.redisPrefix}`,
    kind: 'claim-redis-prefix',
    prefix: f.redisPrefix,
    cause: 'its sessions in the shared Redis, under a prefix no other instance holds',
    after: [],
  });
  return { operation: 'provision', project: f.project, instance: f.instance, steps: list.steps };
}

export function provisionStepSubject(s: ProvisionStep): string {
  switch (s.kind) {
    case 'ensure-role':
      return `${s.role} on ${s.server}`;
    case 'ensure-database':
      return `${s.database} on ${s.server}`;
    case 'restrict-connect':
      return `${s.database} to ${s.role}`;
    case 'ensure-bucket':
      return `${s.bucket} at ${s.endpoint}`;
    case 'claim-redis-prefix':
      return `${s.prefix}:*`;
  }
}

export function formatProvisionPlan(p: ProvisionPlan): string {
  return [
    `provision ${p.project}/${p.instance}: ${p.steps.length} steps`,
    ...formatSteps(p.steps, provisionStepSubject),
  ].join('\n');
}
