// An imported stack → the project spec and secrets that render it back. The
// spec fields (image, version, domain, database, plan…) are set first; then
// the instance is composed as odp would run it, and every variable whose value
// still differs becomes a per-instance `env` override (or a scoped secret), so
// that `import` then `render` gives back exactly the stack's variables. The
// existing YAML is edited in place through yaml's Document API: comments,
// order and the other instances stay as the user wrote them. Pure.
import { Document, parseDocument } from 'yaml';
import { composeStack } from '../compose/stack.js';
import { statsdCustomer } from '../compose/odoo-env.js';
import { OdpError, type Problem, type SourceLocation } from '../errors.js';
import { serviceByRole } from '../model/stack.js';
import { isSecret, revealEnv, Secret, type EnvValue } from '../secret.js';
import { scopedKey, secretsForInstance } from '../secrets/scope.js';
import type { PlanSpec, PlatformSpec } from '../platform-spec/platform-schema.js';
import { projectSchema, type InstanceName, type ProjectSpec } from '../platform-spec/project-schema.js';
import { newProjectDoc } from './new-project.js';
import { invalid, type ImportedStack, type StackFile } from './rancher.js';
import { own } from '../platform-spec/own.js';
import { PINNED_VERSION } from '../versions.js';

export interface ApplyInput {
  platform: PlatformSpec;
  projectName: string;
  instance: InstanceName;
  /** The current `projects/<name>.yaml`, when the project exists. */
  existing?: StackFile;
  client?: string;
  odooSeries?: string;
  stack: ImportedStack;
  /** The project's current secrets (all scopes). */
  secrets: ReadonlyMap<string, Secret>;
}

export interface ApplyResult {
  yaml: string;
  project: ProjectSpec;
  /** The whole new secrets file content. */
  secrets: Map<string, Secret>;
  /** Keys added or changed (scoped names). */
  changedSecrets: string[];
  env: Record<string, string>;
  plan: string;
  created: boolean;
  warnings: string[];
}

/** The plan fields as the Odoo environment spells them. */
const PLAN_VARS: [string, keyof PlanSpec][] = [
  ['WORKERS', 'workers'],
  ['MAX_CRON_THREADS', 'cronThreads'],
  ['LIMIT_MEMORY_SOFT', 'memorySoft'],
  ['LIMIT_MEMORY_HARD', 'memoryHard'],
  ['LIMIT_REQUEST', 'limitRequest'],
  ['LIMIT_TIME_CPU', 'timeCpu'],
  ['LIMIT_TIME_REAL', 'timeReal'],
  ['DB_MAXCONN', 'dbMaxConn'],
];

export function applyImport(input: ApplyInput): ApplyResult {
  const { platform, instance: inst, stack, projectName: name } = input;
  const warnings = [...stack.warnings];
  const v = (k: string) => stack.env.get(k)?.value;
  const ip = (...k: string[]) => ['instances', inst, ...k];

  let doc: Document;
  let current: ProjectSpec | undefined;
  if (input.existing) {
    doc = parseDocument(input.existing.text);
    current = projectSchema.parse(doc.toJS());
    if (current.flavour !== 'camptocamp') {
      throw new OdpError(
        'USAGE',
        `${name} uses the ${current.flavour} image flavour; Rancher stacks ran camptocamp images`,
      );
    }
  } else {
    doc = newProjectDoc(
      { name: input.projectName, client: input.client, odooSeries: input.odooSeries },
      input.stack,
      warnings,
    );
  }
  const others = Object.keys(current?.instances ?? {}).filter((i) => i !== inst);
  const projectWide = (what: string) => {
    if (others.length > 0) warnings.push(`${what} is project-wide: it changes ${others.join(', ')} too`);
  };

  // Project-wide fields, changed only when the stack disagrees.
  if (current && current.image !== stack.repository) {
    doc.set('image', stack.repository);
    projectWide(`image ${stack.repository}`);
  }
  if (current && current.serverWideModules.join(',') !== stack.serverWideModules.join(',')) {
    doc.set('serverWideModules', doc.createNode(stack.serverWideModules, { flow: true }));
    projectWide(`serverWideModules [${stack.serverWideModules.join(', ')}]`);
  }
  const customer = v('STATSD_CUSTOMER');
  const currentCustomer = statsdCustomer(current ?? ({ name } as ProjectSpec));
  if (customer && customer !== currentCustomer) doc.set('statsdCustomer', customer);
  else if (!current) doc.delete('statsdCustomer');

  if (!doc.hasIn(ip())) doc.setIn(ip(), doc.createNode({ domain: stack.domain }));
  doc.setIn(ip('domain'), stack.domain);
  const setUnlessDefault = (key: string, value: string | undefined, dflt: string) => {
    if (value === undefined || (value === dflt && !doc.hasIn(ip(key)))) return;
    doc.setIn(ip(key), value);
  };
  if (inst === 'test') {
    setUnlessDefault('tag', stack.tag, 'latest');
    setUnlessDefault('database', v('DB_NAME') || undefined, 'odoodb');
    setUnlessDefault('dbUser', v('DB_USER') || undefined, 'odoo');
    setUnlessDefault('marabuntaMode', v('MARABUNTA_MODE') || undefined, 'demo');
  } else {
    if (!PINNED_VERSION.test(stack.tag) && stack.tag !== 'latest') {
      throw invalid(`image tag "${stack.tag}" is not a pinned version such as 10.0.0`, stack.imageAt);
    }
    doc.setIn(ip('version'), stack.tag);
    const db = stack.env.get('DB_NAME');
    if (!db?.value)
      throw invalid('DB_NAME is empty; fill it with the random database name', db?.at ?? stack.domainAt);
    const prodDb = doc.getIn(['instances', 'prod', 'database']);
    if (inst === 'integration' && prodDb && db.value === `${String(prodDb)}_integration`)
      doc.deleteIn(ip('database'));
    else doc.setIn(ip('database'), db.value);
    const user = v('DB_USER');
    if (user && user !== db.value) doc.setIn(ip('dbUser'), user);
    else doc.deleteIn(ip('dbUser'));
    setUnlessDefault('marabuntaMode', v('MARABUNTA_MODE') || undefined, 'full');
  }
  const plan = choosePlan(doc, current, input, warnings);

  // Compose as odp would; what still differs becomes a secret or an override.
  doc.deleteIn(ip('env'));
  let project = validate(doc, stack, inst);
  const secrets = new Map(input.secrets);
  const changedSecrets: string[] = [];
  const sees = secretsForInstance(input.secrets, inst);
  const keep = (k: string, value: string) => {
    if (sees.get(k)?.reveal() === value) return;
    if (value === '' && !sees.has(k)) {
      // A blank the document left unfilled; a missing secret renders empty too.
      warnings.push(`${k} is empty in the stack and not stored; set it with \`odp secrets set\``);
      return;
    }
    secrets.set(scopedKey(inst, k), new Secret(value));
    changedSecrets.push(scopedKey(inst, k));
  };
  const baseline = odooEnvOf(platform, project, inst, secrets);
  for (const [k, iv] of stack.env) {
    const spec = baseline.get(k);
    if (spec === undefined ? iv.secret : isSecret(spec)) keep(k, iv.value);
  }
  for (const [k, s] of stack.extraSecrets) keep(k, s.reveal());

  const after = odooEnvOf(platform, project, inst, secrets);
  const env: Record<string, string> = {};
  for (const [k, iv] of stack.env) {
    const s = after.get(k);
    if (s !== undefined && revealEnv(s) === iv.value) continue;
    env[k] = iv.value;
    if (iv.secret)
      warnings.push(
        `${k} came from the secret file, but odp treats it as public: it is a plain env override`,
      );
  }
  if (Object.keys(env).length > 0) doc.setIn(ip('env'), doc.createNode(env));
  project = validate(doc, stack, inst);

  // The promise of the import, checked rather than assumed.
  const final = composeStack(platform, project, inst, secrets);
  const finalEnv = serviceByRole(final.stack, 'odoo')?.env ?? new Map<string, EnvValue>();
  const wrong = [...stack.env].filter(([k, iv]) => {
    const s = finalEnv.get(k);
    return s === undefined || revealEnv(s) !== iv.value;
  });
  if (wrong.length > 0) {
    throw new OdpError(
      'INTERNAL',
      `import would not render back ${wrong.map(([k]) => k).join(', ')}; nothing was written`,
    );
  }
  const extra = [...finalEnv.keys()].filter((k) => !stack.env.has(k));
  if (extra.length > 0)
    warnings.push(`odp also sets ${extra.join(', ')} on ${inst}, which the stack did not`);
  const labels = final.instance.placement.labels.join(',');
  if (stack.hostLabels.length > 0 && stack.hostLabels.join(',') !== labels) {
    warnings.push(
      `the stack ran on hosts labelled ${stack.hostLabels.join(',')}; odp places ${inst} on ${labels}`,
    );
  }
  if (stack.global !== final.instance.placement.global) {
    warnings.push(
      `the stack was ${stack.global ? '' : 'not '}global; odp runs ${inst} ${final.instance.placement.global ? 'on every matching host' : 'as replicas'}`,
    );
  }
  return {
    yaml: doc.toString({ lineWidth: 0, flowCollectionPadding: false }),
    project,
    secrets,
    changedSecrets,
    env,
    plan,
    created: !current,
    warnings,
  };
}

/**
 * The plan whose numbers are the stack's, exactly. When none is, the current
 * one stays and the differing numbers become env overrides (done by the caller).
 */
function choosePlan(
  doc: Document,
  current: ProjectSpec | undefined,
  input: ApplyInput,
  warnings: string[],
): string {
  const { platform, instance: inst, stack } = input;
  const plans = Object.entries(platform.plans);
  const score = (p: PlanSpec) =>
    PLAN_VARS.filter(([k, f]) => stack.env.get(k)?.value === String(p[f])).length;
  const present = PLAN_VARS.filter(([k]) => stack.env.has(k)).length;
  const matches = (p: PlanSpec | undefined) => p !== undefined && present > 0 && score(p) === present;
  const ownPlan = current?.instances[inst]?.plan;
  const projectPlan = current?.plan;
  const fallback = inst === 'test' ? platform.testPlan : projectPlan;
  const effective = ownPlan ?? fallback;
  const found = plans.find(([, p]) => matches(p))?.[0];
  if (!current) {
    // A new project needs a project plan: the match, else the closest one. A
    // test stack says nothing about it: the first plan that is not for tests.
    const closest = [...plans].sort(([, a], [, b]) => score(b) - score(a))[0]?.[0] as string;
    const forProject = inst === 'test' ? plans.find(([n]) => n !== platform.testPlan)?.[0] : found;
    doc.set('plan', forProject ?? closest);
    const chosen = found ?? (inst === 'test' ? platform.testPlan : closest);
    if (inst === 'test' && chosen !== platform.testPlan) doc.setIn(['instances', inst, 'plan'], chosen);
    if (!found)
      warnings.push(
        `no platform plan matches the stack's workers and limits; kept ${chosen}, with overrides`,
      );
    return chosen;
  }
  if (effective && matches(own(platform.plans, effective))) return effective;
  if (found) {
    if (found === fallback) doc.deleteIn(['instances', inst, 'plan']);
    else doc.setIn(['instances', inst, 'plan'], found);
    return found;
  }
  warnings.push(`no platform plan matches the stack's workers and limits; kept ${effective}, with overrides`);
  return effective as string;
}

function odooEnvOf(
  platform: PlatformSpec,
  project: ProjectSpec,
  inst: InstanceName,
  secrets: ReadonlyMap<string, Secret>,
) {
  return (
    serviceByRole(composeStack(platform, project, inst, secrets).stack, 'odoo')?.env ??
    new Map<string, EnvValue>()
  );
}

/** The edited document must still be a valid project; problems point at the stack lines that caused them. */
function validate(doc: Document, stack: ImportedStack, inst: InstanceName): ProjectSpec {
  const r = projectSchema.safeParse(doc.toJS());
  if (r.success) return r.data;
  const source: Record<string, SourceLocation | undefined> = {
    domain: stack.domainAt,
    database: stack.env.get('DB_NAME')?.at,
    dbUser: stack.env.get('DB_USER')?.at,
    version: stack.imageAt,
    tag: stack.imageAt,
    image: stack.imageAt,
  };
  const problems: Problem[] = r.error.issues.map((i) => {
    const path = i.path.map(String);
    const field = path[0] === 'instances' && path[1] === inst ? path[2] : path[0];
    const location = field ? own(source, field) : undefined;
    return { message: i.message, path: path.join('.'), ...(location ? { location } : {}) };
  });
  throw new OdpError('IMPORT_INVALID', 'the stack does not fit a project spec', {
    problems,
    hint: 'Fix the stack files (or the project YAML); nothing was written.',
  });
}
