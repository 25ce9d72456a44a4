// Where a project's secrets apply. One encrypted file per project holds the
// secrets of all its instances: `PROD__DB_PASSWORD` is prod's DB_PASSWORD,
// an unscoped `AWS_SECRET_ACCESS_KEY` applies to every instance. The double
// underscore cannot be confused with the single underscores of Odoo's names.
import type { Secret } from '../secret.js';
import { instanceNames, type InstanceName } from '../platform-spec/instance-names.js';

const SEP = '__';

export function scopedKey(instance: InstanceName, key: string): string {
  return `${instance.toUpperCase()}${SEP}${key}`;
}

/** Splits `PROD__DB_PASSWORD` into its instance and variable; unscoped keys have no instance. */
export function parseKey(key: string): { instance?: InstanceName; name: string } {
  const idx = key.indexOf(SEP);
  if (idx > 0) {
    const prefix = key.slice(0, idx).toLowerCase();
    const inst = instanceNames.find((i) => i === prefix);
    if (inst) return { instance: inst, name: key.slice(idx + SEP.length) };
  }
  return { name: key };
}

/** The variables one instance sees: unscoped ones, then its own scoped ones on top. */
export function secretsForInstance(
  all: ReadonlyMap<string, Secret>,
  instance: InstanceName,
): Map<string, Secret> {
  const out = new Map<string, Secret>();
  for (const [key, value] of all) if (!parseKey(key).instance) out.set(key, value);
  for (const [key, value] of all) {
    const k = parseKey(key);
    if (k.instance === instance) out.set(k.name, value);
  }
  return out;
}
