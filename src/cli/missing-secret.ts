// What `odp secrets get` says when it does not find a key: one set per
// instance is not "missing", it is read with --instance (issue 17).
import { OdpError } from '../errors.js';
import type { InstanceName } from '../platform-spec/instance-names.js';
import { parseKey } from '../secrets/scope.js';

/**
 * A key `get` does not find. One set per instance says so and names the flag
 * that reads it, with an instance it is set for: that, not "no such key", is
 * what the user needs (issue 17).
 */
export function missingKey(
  kind: 'project' | 'platform',
  label: string,
  key: string,
  instance: InstanceName | undefined,
  s: { file: string; values: ReadonlyMap<string, unknown> },
  /** `odp REST` as the user runs it (with --dir when given). */
  odp: (rest: string) => string,
): OdpError {
  const setFor = [...s.values.keys()]
    .map(parseKey)
    .filter((k) => k.instance && k.name === key)
    .map((k) => k.instance!);
  const get = (i: string) => odp(`secrets get ${label} ${key} --instance ${i}`);
  if (kind === 'project' && setFor.length > 0) {
    const pick = setFor.includes('prod') ? 'prod' : setFor[0]!;
    const where = instance ? `not for ${instance}` : 'not for the whole project';
    return new OdpError('NOT_FOUND', `${key} is set per instance (${setFor.join(', ')}), ${where}`, {
      hint: `Add --instance ${pick}: \`${get(pick)}\`.`,
    });
  }
  const show = kind === 'project' ? `secrets show ${label}` : 'platform secrets show';
  return new OdpError('NOT_FOUND', `no secret ${key}${instance ? ` for ${instance}` : ''} in ${s.file}`, {
    hint: `\`${odp(show)}\` lists the keys.`,
  });
}
