// Reads an original Rancher stack directory (already loaded into strings):
// the rancher-compose v1 `docker-compose.yml`, `rancher.public.env`, the
// decrypted `rancher.env` and optionally `rancher-compose.yml`, and resolves
// what the Odoo container actually received, variable by variable, as
// rancher-compose would have. Pure; `ops/project/import-rancher.ts` does the reading.
import { isMap, isScalar, isSeq, type Node as YamlNode, type YAMLMap } from 'yaml';
import { OdpError, type Problem, type SourceLocation } from '../errors.js';
import { MAX_YAML_BYTES, quotable, readYaml } from '../platform-spec/yaml-read.js';
import { Secret } from '../secret.js';
import { interpolate, parseShellEnv } from './shell-env.js';

export interface StackFile {
  /** As shown to the user in messages. */
  file: string;
  text: string;
}

export interface StackFiles {
  compose: StackFile;
  publicEnv: StackFile;
  /** Decrypted `rancher.env.gpg`, or a plaintext `rancher.env`. */
  secretEnv?: StackFile;
  rancherCompose?: StackFile;
}

export interface ImportedVar {
  value: string;
  /** Made from a variable of the secret file: it goes to the secrets file, not the YAML. */
  secret: boolean;
  /** Where the value was written: the env file line of its variable, else the compose entry. */
  at: SourceLocation;
}

export interface ImportedStack {
  repository: string;
  tag: string;
  imageAt: SourceLocation;
  /** Modules of `--load=`; empty when the command has none. */
  serverWideModules: string[];
  /** The Odoo service's environment in file order, resolved. */
  env: Map<string, ImportedVar>;
  domain: string;
  domainAt: SourceLocation;
  /** Secrets of the other services odp keeps (the Let's Encrypt Route53 keys). */
  extraSecrets: Map<string, Secret>;
  hostLabels: string[];
  global: boolean;
  warnings: string[];
}

export function invalid(raw: string, location?: SourceLocation, hint?: string): OdpError {
  // Messages name services and variables of the stack: bounded and printable, whatever they are.
  const message = quotable(raw, 300);
  return new OdpError('IMPORT_INVALID', message, {
    problems: location ? [{ message, location }] : [],
    hint: hint ?? 'Fix the stack file, or import another directory; nothing was written.',
  });
}

interface Loaded {
  root: YAMLMap;
  at: (node: YamlNode | null | undefined) => SourceLocation;
}

/**
 * Reads a compose file as docker-compose 1.x (PyYAML) would: a repeated key is
 * accepted, the last one winning, with a warning at its line; what PyYAML
 * refuses (syntax errors, unknown tags) is refused.
 */
function loadYaml(f: StackFile, warnings: string[]): Loaded {
  const read = readYaml(f.file, f.text, { uniqueKeys: false });
  const at = (node: YamlNode | null | undefined): SourceLocation => read.at(node?.range?.[0] ?? 0);
  const problems = [
    ...read.errors,
    ...read.warnings.map((w) => ({ ...w, message: `${w.message} (docker-compose refuses it too)` })),
  ];
  if (problems.length > 0) {
    throw new OdpError('IMPORT_INVALID', `${f.file} is not valid YAML`, {
      problems,
      hint: 'Fix the YAML (the original document itself has a mis-indented `image:` line); nothing was written.',
    });
  }
  for (const d of read.duplicates) warnings.push(`${d.location?.file}:${d.location?.line}: ${d.message}`);
  const doc = read.doc;
  if (!isMap(doc.contents)) throw invalid(`${f.file}: expected a mapping of services`, at(doc.contents));
  return { root: doc.contents, at };
}

/** A stack generated from odoo-template but never filled in: say which placeholder, where. */
function refuseTemplate(files: StackFile[]): void {
  const problems: Problem[] = [];
  for (const f of files) {
    f.text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(
        /\{\{-?\s*cookiecutter\.[^}]{0,80}\}\}|\{%-?[^%]{0,80}cookiecutter[^%]{0,80}%\}/g,
      )) {
        if (problems.length < 20)
          problems.push({
            message: `unfilled cookiecutter placeholder ${m[0]}`,
            location: { file: f.file, line: i + 1, column: (m.index ?? 0) + 1 },
          });
      }
    });
  }
  if (problems.length === 0) return;
  const first = problems[0] as Problem;
  throw new OdpError(
    'IMPORT_INVALID',
    `${first.location?.file}:${first.location?.line}: the stack is still a cookiecutter template (${first.message.replace(/^unfilled cookiecutter placeholder /, '')})`,
    {
      problems,
      hint: 'Import a stack generated from the template (cookiecutter fills the placeholders), not the template itself; nothing was written.',
    },
  );
}

/** Every stack file is small; a huge one is refused before it is parsed. */
function refuseHuge(files: StackFile[]): void {
  for (const f of files) {
    const bytes = Buffer.byteLength(f.text, 'utf8');
    if (bytes > MAX_YAML_BYTES)
      throw invalid(`${f.file}: the file is ${bytes} bytes; at most ${MAX_YAML_BYTES} (1 MiB) are read`, {
        file: f.file,
        line: 1,
        column: 1,
      });
  }
}

/** At most this many warnings are listed: hostile or broken stacks could make millions. */
const MAX_WARNINGS = 50;

function capWarnings(all: string[]): string[] {
  const warnings = all.slice(0, MAX_WARNINGS).map((w) => quotable(w, 300));
  if (all.length <= MAX_WARNINGS) return warnings;
  return [...warnings, `… and ${all.length - MAX_WARNINGS} more warnings`];
}

/** Services of a v1 file (top level) or of a v2+ file (under `services:`). */
function servicesOf(y: Loaded): Map<string, YAMLMap> {
  const nested = y.root.get('services', true);
  const map = isMap(nested) ? nested : y.root;
  const out = new Map<string, YAMLMap>();
  for (const pair of map.items) {
    if (isScalar(pair.key) && isMap(pair.value)) out.set(String(pair.key.value), pair.value);
  }
  return out;
}

/** `environment:` as list (`KEY=value`, `KEY`) or mapping; bare keys read the shell's value. */
function rawEnvironment(
  svc: YAMLMap,
  y: Loaded,
  name: string,
): { key: string; raw: string | undefined; at: SourceLocation }[] {
  const node = svc.get('environment', true) as YamlNode | undefined;
  if (node === undefined || node === null) return [];
  const out: { key: string; raw: string | undefined; at: SourceLocation }[] = [];
  const push = (e: { key: string; raw: string | undefined; at: SourceLocation }) => {
    // odp keeps env in plain objects, where this name would replace a prototype.
    if (e.key === '__proto__') throw invalid(`${name}: the variable name __proto__ is not supported`, e.at);
    out.push(e);
  };
  if (isSeq(node)) {
    for (const item of node.items) {
      if (!isScalar(item))
        throw invalid(`${name}: each environment entry must be KEY=value`, y.at(item as YamlNode));
      const s = String(item.value);
      const eq = s.indexOf('=');
      push({
        key: eq < 0 ? s : s.slice(0, eq),
        raw: eq < 0 ? undefined : s.slice(eq + 1),
        at: y.at(item),
      });
    }
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const v = pair.value as YamlNode | null;
      if (v !== null && !isScalar(v)) throw invalid(`${name}: environment values must be scalars`, y.at(v));
      const value = v === null || v.value === null ? undefined : String(v.value);
      push({
        key: String((pair.key as { value?: unknown }).value),
        raw: value,
        at: y.at(pair.key as YamlNode),
      });
    }
  } else {
    throw invalid(`${name}: environment must be a list of KEY=value or a mapping`, y.at(node));
  }
  return out;
}

export function parseRancherStack(files: StackFiles): ImportedStack {
  const all = [files.compose, files.publicEnv, files.secretEnv, files.rancherCompose].filter(
    (f): f is StackFile => f !== undefined,
  );
  refuseHuge(all);
  refuseTemplate(all);
  const warnings: string[] = [];
  const secretEnv = files.secretEnv ? parseShellEnv(files.secretEnv.text, files.secretEnv.file) : undefined;
  const secretVars = secretEnv?.vars ?? new Map<string, string>();
  // publish.sh sourced the secret file first, then the public one: public wins.
  const pub = parseShellEnv(files.publicEnv.text, files.publicEnv.file, secretVars);
  warnings.push(...(secretEnv?.warnings ?? []), ...pub.warnings);
  for (const k of pub.vars.keys()) {
    if (secretVars.has(k))
      warnings.push(`${k} is set in both ${files.publicEnv.file} and the secret file; the public value wins`);
  }
  const vars = new Map([...secretVars, ...pub.vars]);
  const isSecretVar = (k: string) => secretVars.has(k) && !pub.vars.has(k);
  const definedAt = (k: string): SourceLocation | undefined => {
    const line = pub.lines.get(k) ?? secretEnv?.lines.get(k);
    if (line === undefined) return undefined;
    const file = pub.lines.has(k) ? files.publicEnv.file : (files.secretEnv?.file ?? '');
    return { file, line, column: 1 };
  };

  const y = loadYaml(files.compose, warnings);
  const services = servicesOf(y);
  const odoo = services.get('odoo');
  if (!odoo) throw invalid(`${files.compose.file}: no \`odoo\` service`, y.at(y.root));

  const resolve = (raw: string, at: SourceLocation) => {
    try {
      return interpolate(raw, vars);
    } catch (e) {
      throw invalid(e instanceof Error ? e.message : String(e), at);
    }
  };
  const used = new Set<string>();
  const env = new Map<string, ImportedVar>();
  for (const { key, raw, at } of rawEnvironment(odoo, y, 'odoo')) {
    const r =
      raw === undefined
        ? { value: vars.get(key) ?? '', refs: [key], missing: vars.has(key) ? [] : [key] }
        : resolve(raw, at);
    for (const m of r.missing)
      warnings.push(`${at.file}:${at.line}: ${key} uses ${m}, which neither env file sets (empty)`);
    r.refs.forEach((ref) => used.add(ref));
    const from = r.refs.length === 1 ? definedAt(r.refs[0] as string) : undefined;
    env.set(key, { value: r.value, secret: r.refs.some(isSecretVar), at: from ?? at });
  }

  const imageNode = odoo.get('image', true) as YamlNode | undefined;
  if (!isScalar(imageNode) || typeof imageNode.value !== 'string') {
    throw invalid(
      'odoo: `image` must be a string such as camptocamp/neomedical_odoo:10.0.0',
      y.at(imageNode ?? odoo),
    );
  }
  const image = resolve(imageNode.value, y.at(imageNode)).value;
  const colon = image.lastIndexOf(':');
  const tagged = colon > image.lastIndexOf('/');
  const repository = tagged ? image.slice(0, colon) : image;
  const tag = tagged ? image.slice(colon + 1) : 'latest';

  const serverWideModules = commandModules(odoo, y, warnings);

  const labels = odoo.get('labels');
  const labelOf = (k: string): string | undefined => {
    if (isMap(labels)) {
      const v = labels.get(k);
      return v === undefined || v === null ? undefined : String(v);
    }
    return undefined;
  };
  const hostLabels = (labelOf('io.rancher.scheduler.affinity:host_label') ?? '')
    .split(',')
    .map((l) => l.trim().replace(/=true$/, ''))
    .filter(Boolean);
  const global = labelOf('io.rancher.scheduler.global') === 'true';

  // Other services: keep the Let's Encrypt keys; note what else odp drops.
  const extraSecrets = new Map<string, Secret>();
  let leDomains: string | undefined;
  for (const [name, svc] of services) {
    if (name === 'odoo') continue;
    for (const { key, raw, at } of rawEnvironment(svc, y, name)) {
      const r =
        raw === undefined ? { value: vars.get(key) ?? '', refs: [key], missing: [] } : resolve(raw, at);
      if (name === 'letsencrypt' && key === 'DOMAINS') leDomains = r.value;
      for (const ref of r.refs) {
        if (!isSecretVar(ref) || used.has(ref)) continue;
        used.add(ref);
        if (ref.startsWith('LETSENCRYPT_')) extraSecrets.set(ref, new Secret(vars.get(ref) ?? ''));
        else
          warnings.push(`${ref} (used by ${name}) is not imported: odp generates the ${name} service itself`);
      }
    }
  }
  for (const k of secretVars.keys()) {
    if (used.has(k)) continue;
    warnings.push(
      k.startsWith('RANCHER_')
        ? `${k} is not imported: odp needs no Rancher API credentials`
        : `${k} is set in the secret file but no service uses it; not imported`,
    );
  }

  let hostname: string | undefined;
  if (files.rancherCompose) {
    const rc = loadYaml(files.rancherCompose, warnings);
    const rules = rc.root.getIn(['odoo', 'lb_config', 'port_rules']);
    const first = isSeq(rules) ? rules.items[0] : undefined;
    if (isMap(first))
      hostname = resolve(String(first.get('hostname') ?? ''), rc.at(first)).value || undefined;
  }
  const domain = vars.get('DOMAIN_NAME') || leDomains?.split(',')[0] || hostname;
  const domainAt = definedAt('DOMAIN_NAME') ?? { file: files.publicEnv.file, line: 1, column: 1 };
  if (!domain) throw invalid(`${files.publicEnv.file}: no DOMAIN_NAME`, domainAt);
  return {
    repository,
    tag,
    imageAt: y.at(imageNode),
    serverWideModules,
    env,
    domain,
    domainAt,
    extraSecrets,
    hostLabels,
    global,
    warnings: capWarnings(warnings),
  };
}

/** `odoo --load=a,b` (string or list) → [a, b]; other arguments cannot be kept and are reported. */
function commandModules(odoo: YAMLMap, y: Loaded, warnings: string[]): string[] {
  const node = odoo.get('command', true) as YamlNode | undefined;
  if (node === undefined || node === null) return [];
  let args: string[];
  if (isScalar(node)) args = String(node.value).trim().split(/\s+/);
  else if (isSeq(node)) args = node.items.map((i) => String(isScalar(i) ? i.value : ''));
  else throw invalid('odoo: `command` must be a string or a list', y.at(node));
  const at = y.at(node);
  let modules: string[] = [];
  const dropped: string[] = [];
  args.forEach((a, i) => {
    if (a.startsWith('--load=')) modules = a.slice('--load='.length).split(',').filter(Boolean);
    else if (!(i === 0 && a === 'odoo')) dropped.push(a);
  });
  if (dropped.length > 0) {
    // One warning for them all; options only (a value could be a password), each shortened.
    const shown = dropped.slice(0, 5).map((a) => {
      const name = a.split('=')[0] as string;
      return name.length > 40 ? `${name.slice(0, 40)}…` : name;
    });
    const more = dropped.length > 5 ? ` and ${dropped.length - 5} more` : '';
    warnings.push(
      `${at.file}:${at.line}: ${dropped.length} command argument${dropped.length === 1 ? ' is' : 's are'} not kept by odp: ${shown.join(' ')}${more}`,
    );
  }
  return modules;
}
