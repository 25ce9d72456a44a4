// The plaintext inside `<project>.env.gpg`: `export KEY=value` lines, as the
// original platform's rancher.env, read the way a POSIX shell would read them
// so the same file can still be `source`d by hand. Anything whose meaning would
// depend on the shell (expansions, globs, command separators) is refused
// rather than guessed. Errors name file:line:column and the key, never a value.
// The lexing is src/platform-spec/env-lexer.ts's, shared with the Rancher importer.
import { OdpError, type Problem } from '../errors.js';
import { Secret } from '../secret.js';
import { lexEnv } from '../platform-spec/env-lexer.js';

const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseEnvFile(text: string, file: string): Map<string, Secret> {
  // Strict: no references, no glob characters, no CR, no key twice (see env-lexer.ts).
  const { assignments, problems } = lexEnv(text, {
    references: false,
    strict: true,
    crlf: false,
    duplicates: 'refuse',
  });
  if (problems.length > 0) {
    const listed: Problem[] = problems.map((p) => ({
      message: p.message,
      location: { file, line: p.line, column: p.column },
      ...(p.key ? { path: p.key } : {}),
    }));
    throw new OdpError('SECRETS_INVALID', `${file}: ${problems.length} malformed line(s)`, {
      problems: listed,
      hint: "Write one `export KEY='value'` per line; inside single quotes everything is literal (write ' as '\\'').",
    });
  }
  // Without references every value is one literal (or none, for `KEY=`).
  return new Map(assignments.map((a) => [a.key, new Secret(a.parts.join(''))]));
}

/** `export KEY='value'` lines sorted by key; `bash -c 'source FILE'` reads back exactly these values. */
export function formatEnvFile(values: ReadonlyMap<string, Secret>): string {
  const problems: Problem[] = [];
  for (const [key, value] of values) {
    if (!VALID_NAME.test(key)) problems.push({ message: 'not a valid environment variable name', path: key });
    else if (value.reveal().includes('\0'))
      problems.push({ message: 'NUL bytes cannot be stored', path: key });
  }
  if (problems.length > 0) throw new OdpError('SECRETS_INVALID', 'cannot write these secrets', { problems });
  // Code-unit order, not locale order: the same file on every machine.
  const keys = [...values.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => `export ${k}=${shellQuote(values.get(k)!.reveal())}\n`).join('');
}

/** Single quotes keep everything literal (newlines too); a quote itself is closed, escaped, reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
