// Test helper: what rancher-compose would have handed each container of a
// Rancher stack directory: the env files sourced (secret first, then public),
// every `${VAR}` of docker-compose.yml resolved. The golden and round-trip
// tests compare these resolved views, not file texts.
import { parse } from 'yaml';
import { interpolate, parseShellEnv } from '../../src/importers/shell-env.js';

export interface ResolvedService {
  image: string;
  command?: string;
  env: Map<string, string>;
  labels: Record<string, string>;
  external_links?: string[];
  links?: string[];
  net?: string;
  volumes?: string[];
}

export interface ResolvedStack {
  services: Record<string, ResolvedService>;
  /** Every variable of both env files, resolved. */
  vars: Map<string, string>;
  publicKeys: string[];
  secretKeys: string[];
  rancherCompose?: unknown;
}

export function resolveRancherStack(files: {
  compose: string;
  publicEnv: string;
  secretEnv: string;
  rancherCompose?: string;
}): ResolvedStack {
  const secret = parseShellEnv(files.secretEnv, 'rancher.env');
  const pub = parseShellEnv(files.publicEnv, 'rancher.public.env', secret.vars);
  const vars = new Map([...secret.vars, ...pub.vars]);
  const doc = parse(files.compose, { version: '1.1' }) as Record<string, Record<string, unknown>>;
  const resolve = (s: string) => {
    const r = interpolate(s, vars);
    if (r.missing.length > 0) throw new Error(`unset variables: ${r.missing.join(', ')}`);
    return r.value;
  };
  const services: Record<string, ResolvedService> = {};
  for (const [name, svc] of Object.entries(doc)) {
    const env = new Map<string, string>();
    const raw = svc.environment;
    if (Array.isArray(raw)) {
      for (const item of raw as string[]) {
        const eq = item.indexOf('=');
        env.set(item.slice(0, eq), resolve(item.slice(eq + 1)));
      }
    } else if (raw && typeof raw === 'object') {
      for (const [k, v] of Object.entries(raw)) env.set(k, resolve(String(v)));
    }
    services[name] = {
      image: String(svc.image),
      ...(svc.command ? { command: String(svc.command) } : {}),
      env,
      labels: Object.fromEntries(
        Object.entries((svc.labels ?? {}) as object).map(([k, v]) => [k, String(v)]),
      ),
      ...(svc.external_links ? { external_links: svc.external_links as string[] } : {}),
      ...(svc.links ? { links: svc.links as string[] } : {}),
      ...(svc.net ? { net: String(svc.net) } : {}),
      ...(svc.volumes ? { volumes: (svc.volumes as string[]).map(resolve) } : {}),
    };
  }
  return {
    services,
    vars,
    publicKeys: [...pub.vars.keys()],
    secretKeys: [...secret.vars.keys()],
    ...(files.rancherCompose ? { rancherCompose: parse(resolve(files.rancherCompose)) } : {}),
  };
}
