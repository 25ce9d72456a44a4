// The two small languages of an original Rancher stack directory:
// `rancher.public.env` / `rancher.env` are shell files that `./rancher` and
// travis/publish.sh `source`d, and the compose files' `${VAR}` references that
// rancher-compose interpolated from that shell environment. Only what those
// files used is accepted; anything needing a real shell (command substitution)
// is refused with file:line rather than guessed. Pure. The env files are lexed
// by src/platform-spec/env-lexer.ts, as the secrets file is.
import { OdpError, type Problem } from '../errors.js';
import { lexEnv, type ValuePart } from '../platform-spec/env-lexer.js';

export interface ShellEnv {
  /** Values in file order, `${VAR}` already expanded as the shell would. */
  vars: Map<string, string>;
  lines: Map<string, number>;
  warnings: string[];
}

/**
 * Parses `[export ]KEY=value` lines. `inherited` holds variables sourced
 * before this file (publish.sh sourced rancher.env, then rancher.public.env).
 */
export function parseShellEnv(
  text: string,
  file: string,
  inherited: ReadonlyMap<string, string> = new Map(),
): ShellEnv {
  // As the shell sourced them: references resolved, a key set twice takes its
  // last value; Windows line endings are forgiven (see env-lexer.ts).
  const { assignments, problems } = lexEnv(text, {
    references: true,
    strict: false,
    crlf: true,
    duplicates: 'last-wins',
  });
  if (problems.length > 0) {
    const listed: Problem[] = problems.map((p) => ({
      message: p.message,
      location: { file, line: p.line, column: p.column },
      ...(p.key ? { path: p.key } : {}),
    }));
    throw new OdpError('IMPORT_INVALID', `${file}: ${problems.length} line(s) odp cannot read`, {
      problems: listed,
      hint: 'Only `export KEY=value` lines with plain, quoted or ${VAR} values are understood.',
    });
  }
  const vars = new Map<string, string>();
  const lines = new Map<string, number>();
  const warnings: string[] = [];
  const lookup = (name: string): string | undefined => vars.get(name) ?? inherited.get(name);
  // In file order: a line sees what the lines before it set.
  for (const a of assignments) {
    const value = a.parts
      .map((p) =>
        resolve(p, lookup, (v) =>
          warnings.push(`${file}:${a.line}: $${v} is not set; the shell would expand it to nothing`),
        ),
      )
      .join('');
    vars.set(a.key, value);
    lines.set(a.key, a.line);
  }
  return { vars, lines, warnings };
}

/** A literal as it is; a reference as the shell expands it. */
function resolve(
  part: ValuePart,
  lookup: (n: string) => string | undefined,
  unset: (n: string) => void,
): string {
  if (typeof part === 'string') return part;
  const v = lookup(part.name);
  const f = part.fallback;
  if (f && (f.ifEmpty ? !v : v === undefined)) return f.text;
  if (v === undefined) unset(part.name);
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
