// The two small languages of an original Rancher stack directory:
// `rancher.public.env` / `rancher.env` are shell files that `./rancher` and
// travis/publish.sh `source`d, and the compose files' `${VAR}` references that
// rancher-compose interpolated from that shell environment. Only what those
// files used is accepted; anything needing a real shell (command substitution)
// is refused with file:line rather than guessed. Pure.
import { OdpError, type Problem } from '../errors.js';
import { quotable } from '../spec/yaml-read.js';

export interface ShellEnv {
  /** Values in file order, `${VAR}` already expanded as the shell would. */
  vars: Map<string, string>;
  lines: Map<string, number>;
  warnings: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Parses `[export ]KEY=value` lines. `inherited` holds variables sourced
 * before this file (publish.sh sourced rancher.env, then rancher.public.env).
 */
export function parseShellEnv(
  text: string,
  file: string,
  inherited: ReadonlyMap<string, string> = new Map(),
): ShellEnv {
  const vars = new Map<string, string>();
  const lines = new Map<string, number>();
  const warnings: string[] = [];
  const problems: Problem[] = [];
  const lookup = (name: string): string | undefined => vars.get(name) ?? inherited.get(name);

  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const fail = (message: string, column = 1) =>
      problems.push({ message: quotable(message, 300), location: { file, line, column } });
    let rest = raw.trimStart();
    if (rest === '' || rest.startsWith('#')) return;
    if (/^export\s/.test(rest)) rest = rest.replace(/^export\s+/, '');
    const name = NAME.exec(rest)?.[0];
    if (!name || rest[name.length] !== '=') {
      fail('expected `export KEY=value`', raw.length - rest.length + 1);
      return;
    }
    try {
      const value = shellWord(rest.slice(name.length + 1), lookup, (v) =>
        warnings.push(`${file}:${line}: $${v} is not set; the shell would expand it to nothing`),
      );
      vars.set(name, value);
      lines.set(name, line);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
  });
  if (problems.length > 0) {
    throw new OdpError('IMPORT_INVALID', `${file}: ${problems.length} line(s) odp cannot read`, {
      problems,
      hint: 'Only `export KEY=value` lines with plain, quoted or ${VAR} values are understood.',
    });
  }
  return { vars, lines, warnings };
}

/** One shell word: quoted and unquoted parts, ended by blanks and an optional comment. */
function shellWord(s: string, lookup: (n: string) => string | undefined, unset: (n: string) => void): string {
  let out = '';
  let i = 0;
  const expand = (): void => {
    const r = expandDollar(s, i, lookup, unset);
    out += r.text;
    i = r.next;
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t') {
      const tail = s.slice(i).trim();
      if (tail !== '' && !tail.startsWith('#'))
        throw new Error('one assignment per line; quote values with blanks');
      break;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote (values must fit on one line)');
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new Error('unterminated double quote (values must fit on one line)');
        const d = s[i] as string;
        if (d === '"') break;
        if (d === '\\' && '"\\$`'.includes(s[i + 1] ?? '')) {
          out += s[i + 1];
          i += 2;
        } else if (d === '$') expand();
        else if (d === '`') throw new Error('command substitution is not supported');
        else {
          out += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      out += s[i + 1] ?? '';
      i += 2;
    } else if (c === '$') expand();
    else if (c === '`' || c === ';' || c === '|' || c === '&') throw new Error(`"${c}" needs a real shell`);
    else {
      out += c;
      i++;
    }
  }
  return out;
}

function expandDollar(
  s: string,
  i: number,
  lookup: (n: string) => string | undefined,
  unset: (n: string) => void,
): { text: string; next: number } {
  const after = s.slice(i + 1);
  if (after.startsWith('(')) throw new Error('command substitution is not supported');
  const bare = NAME.exec(after)?.[0];
  if (bare) return { text: valueOf(bare, lookup, unset), next: i + 1 + bare.length };
  if (!after.startsWith('{')) return { text: '$', next: i + 1 };
  const close = after.indexOf('}');
  const m = close < 0 ? null : /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s.exec(after.slice(1, close));
  if (!m) throw new Error(`unsupported expansion ${after.slice(0, close + 1) || after}`);
  const [, name = '', op, dflt = ''] = m;
  const v = lookup(name);
  const useDefault = op === ':-' ? !v : op === '-' ? v === undefined : false;
  return { text: useDefault ? dflt : valueOf(name, lookup, unset), next: i + 2 + close };
}

function valueOf(
  name: string,
  lookup: (n: string) => string | undefined,
  unset: (n: string) => void,
): string {
  const v = lookup(name);
  if (v === undefined) unset(name);
  return v ?? '';
}

export interface Interpolated {
  value: string;
  /** Variables the value was made from: how the importer tells a secret from a public value. */
  refs: string[];
  missing: string[];
}

/**
 * Compose-file interpolation as rancher-compose and docker-compose do it:
 * `$$` is a dollar, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`.
 */
export function interpolate(text: string, vars: ReadonlyMap<string, string>): Interpolated {
  const refs: string[] = [];
  const missing: string[] = [];
  const value = text.replace(
    /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})/g,
    (
      _m,
      dollar: string | undefined,
      bare: string | undefined,
      braced: string | undefined,
      op?: string,
      arg?: string,
    ) => {
      if (dollar) return '$';
      const name = (bare ?? braced) as string;
      refs.push(name);
      const v = vars.get(name);
      if (op === ':-' && !v) return arg ?? '';
      if (op === '-' && v === undefined) return arg ?? '';
      if (op?.endsWith('?') && (op === ':?' ? !v : v === undefined)) {
        throw new Error(`${name}: ${arg || 'required variable is not set'}`);
      }
      if (v === undefined) missing.push(name);
      return v ?? '';
    },
  );
  return { value, refs, missing };
}
