// Stack → a Compose file for one Docker host. Only features of the 2.4 file
// format are used, so the same file runs under docker-compose 1.29 (the
// benchmark peer) and `docker compose` v2. Secrets either print masked (for
// people) or as `${VAR}` references resolved from a `.env` file written
// beside it with mode 0600 (for machines), never inline.
import { stringify } from 'yaml';
import { OdpError } from '../errors.js';
import { httpProbe } from './probe.js';
import type { HealthCheck, Service, Stack } from '../model/stack.js';
import { MASK, isSecret, type Secret } from '../secret.js';

export interface ComposeRenderOptions {
  secrets: 'mask' | 'reference';
}

/** Which `${VAR}` each secret env entry becomes, and the value `.env` gives it. */
interface SecretRefs {
  names: Map<string, Map<string, string>>;
  values: Map<string, Secret>;
}

function secretRefs(stack: Stack): SecretRefs {
  const names = new Map<string, Map<string, string>>();
  const values = new Map<string, Secret>();
  // Odoo's variables name the secrets; another service holding the same value
  // refers to it by that name, as the original's `POSTGRES_PASSWORD=${DB_PASSWORD}`.
  const ordered = [...stack.services].sort((a, b) => Number(b.role === 'odoo') - Number(a.role === 'odoo'));
  for (const svc of ordered) {
    const mine = new Map<string, string>();
    for (const [key, v] of svc.env) {
      if (!isSecret(v)) continue;
      const same = v.reveal() === '' ? undefined : [...values].find(([, s]) => s.equals(v))?.[0];
      const taken = values.get(key);
      // The same variable name with another value in another service gets a prefixed name.
      const name =
        same ??
        (!taken || taken.equals(v) ? key : `${svc.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${key}`);
      values.set(name, v);
      mine.set(key, name);
    }
    names.set(svc.name, mine);
  }
  return { names, values };
}

export function renderComposeFile(stack: Stack, opts: ComposeRenderOptions): string {
  const refs = secretRefs(stack);
  const byName = new Map(stack.services.map((s) => [s.name, s]));
  const services: Record<string, unknown> = {};
  for (const svc of stack.services) services[svc.name] = service(stack, svc, byName, refs, opts);

  const networks: Record<string, unknown> = { [stack.network]: { name: stack.network } };
  for (const svc of stack.services) {
    for (const n of svc.externalNetworks) networks[n.name] = { external: true, name: n.name };
  }
  const volumes: Record<string, unknown> = {};
  for (const v of stack.volumes) volumes[v] = { name: v };

  const doc = {
    version: '2.4',
    services,
    networks,
    ...(stack.volumes.length > 0 ? { volumes } : {}),
  };
  const header =
    `# ${stack.name}: ${stack.project}/${stack.instance} on platform ${stack.platform}, rendered by odp.\n` +
    (opts.secrets === 'mask'
      ? '# Secrets are masked: this copy is for reading, not for running.\n'
      : '# Secrets come from the .env file beside this one (mode 0600; never commit it).\n');
  // YAML 1.1 scalars, as docker-compose 1.29 (PyYAML) reads them: `'on'`, `'Yes'` stay strings.
  return header + stringify(doc, { version: '1.1', lineWidth: 0, singleQuote: true });
}

function service(
  stack: Stack,
  svc: Service,
  byName: ReadonlyMap<string, Service>,
  refs: SecretRefs,
  opts: ComposeRenderOptions,
): Record<string, unknown> {
  const names = refs.names.get(svc.name) ?? new Map<string, string>();
  const environment: Record<string, string> = {};
  for (const [key, v] of svc.env) {
    if (isSecret(v)) environment[key] = opts.secrets === 'mask' ? MASK : `\${${names.get(key) ?? key}}`;
    // A literal `$` would be read as the start of a reference.
    else environment[key] = v.replace(/\$/g, '$$$$');
  }
  const out: Record<string, unknown> = { image: svc.image };
  if (svc.command) out.command = svc.command;
  if (svc.env.size > 0) out.environment = environment;

  if (svc.sharesNetworkWith) {
    // The nginx sidecar lives in Odoo's network namespace and proxies to
    // 127.0.0.1, as Rancher's `net: container:odoo` did; such a service may
    // declare no networks and no ports of its own.
    out.network_mode = `service:${svc.sharesNetworkWith}`;
  } else {
    const networks: Record<string, unknown> = { [stack.network]: {} };
    for (const n of svc.externalNetworks) networks[n.name] = {};
    out.networks = networks;
    // `db` and `redis` resolve to the shared services of the tier, as
    // Rancher's external_links did: a link on a user-defined network is a
    // container-scoped alias, visible to this service only.
    const links = svc.externalNetworks.flatMap((n) =>
      Object.entries(n.aliases).map(([as, to]) => `${to}:${as}`),
    );
    if (links.length > 0) out.external_links = links;
    const published = svc.ports
      .filter((p) => p.published !== undefined)
      .map((p) => `${p.published}:${p.container}`);
    const exposed = svc.ports.filter((p) => p.published === undefined).map((p) => String(p.container));
    if (exposed.length > 0) out.expose = exposed;
    if (published.length > 0) out.ports = published;
  }
  if (svc.volumes.length > 0) out.volumes = svc.volumes.map((v) => `${v.volume}:${v.target}`);
  if (svc.dependsOn.length > 0) {
    const deps: Record<string, { condition: string }> = {};
    for (const d of svc.dependsOn) {
      const healthy = svc.startsAfter !== 'started' && byName.get(d)?.health;
      deps[d] = { condition: healthy ? 'service_healthy' : 'service_started' };
    }
    out.depends_on = deps;
  }
  if (svc.health) out.healthcheck = healthcheck(svc.health);
  // Replicas are not rendered: one Docker host runs one Odoo per instance here,
  // and a sidecar can share the network namespace of one container only.
  out.restart = 'unless-stopped';
  out.labels = { ...svc.labels };
  return out;
}

function healthcheck(h: HealthCheck): Record<string, unknown> {
  let test: string[];
  if (h.http) {
    test = httpProbe(h.http.path, h.http.port);
  } else if (h.command) {
    test = ['CMD', ...h.command];
  } else {
    throw new OdpError('INTERNAL', 'a health check needs an http probe or a command');
  }
  return {
    // Compose reads `$` as the start of a variable: the probe's own are escaped.
    test: test.map((t) => t.replace(/\$/g, '$$$$')),
    // No `start_interval`: the 2.4 file format (docker-compose 1.29) has none, and
    // an engine before 25 would refuse it. Readiness while deploying is odp's own
    // probe (docs/decisions/0050); compose users wait for the first steady check.
    interval: `${h.intervalSeconds}s`,
    timeout: `${h.timeoutSeconds}s`,
    retries: h.retries,
    start_period: `${h.startPeriodSeconds}s`,
  };
}

/**
 * The `.env` for a file rendered with `secrets: 'reference'`: the revealed
 * values, single-quoted so neither docker-compose 1.29 (python-dotenv) nor
 * compose v2 expands anything inside them. Write it with mode 0600.
 */
export function renderComposeDotEnv(stack: Stack): string {
  const lines = [
    `# Secrets of ${stack.name}, read by docker compose for the file beside this one. Never commit it.`,
  ];
  for (const [name, secret] of secretRefs(stack).values) {
    const value = secret.reveal();
    // The two parsers disagree on escapes inside quotes; refuse rather than
    // write a file that one of them reads differently.
    if (/['\\\n\r]/.test(value)) {
      throw new OdpError('SECRETS_INVALID', `the secret ${name} holds a quote, backslash or newline`, {
        hint: 'A .env file cannot carry it portably; choose a value without these characters.',
      });
    }
    lines.push(`${name}='${value}'`);
  }
  return `${lines.join('\n')}\n`;
}
