// The plaintext inside `<project>.env.gpg`: `export KEY=value` lines, as the
// original platform's rancher.env, read the way a POSIX shell would read them
// so the same file can still be `source`d by hand. Anything whose meaning would
// depend on the shell (expansions, globs, command separators) is refused
// rather than guessed. Errors name file:line:column and the key, never a value.
import { OdpError, type Problem } from '../errors.js';
import { Secret } from '../secret.js';

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Outside quotes these make the shell expand, glob, split or run something. */
const SPECIAL = new Set([...'$`;&|<>(){}*?[]~!"\'\\'.split(''), '\r']);
/** After a backslash inside double quotes, only these are escaped (POSIX). */
const DQ_ESCAPES = new Set(['$', '`', '"', '\\']);

class LineError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

export function parseEnvFile(text: string, file: string): Map<string, Secret> {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const locate = (pos: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, column: pos - lineStarts[lo]! + 1 };
  };

  const values = new Map<string, Secret>();
  const firstSeen = new Map<string, number>();
  const problems: Problem[] = [];
  let pos = 0;
  let key: string | undefined;

  const skipBlanks = () => {
    while (text[pos] === ' ' || text[pos] === '\t') pos++;
  };
  const skipLine = () => {
    while (pos < text.length && text[pos] !== '\n') pos++;
  };
  const atEnd = () => pos >= text.length || text[pos] === '\n';

  const readValue = (): string => {
    let out = '';
    for (;;) {
      const c = text[pos];
      if (c === undefined || c === ' ' || c === '\t' || c === '\n') return out;
      if (c === '\0') throw new LineError('NUL bytes are not allowed', pos);
      if (c === "'") {
        const end = text.indexOf("'", pos + 1);
        if (end < 0) {
          const open = pos;
          pos = text.length; // the rest of the file is inside the quote: nothing more to check
          throw new LineError('unterminated single quote', open);
        }
        out += text.slice(pos + 1, end);
        pos = end + 1;
      } else if (c === '"') {
        out += readDoubleQuoted();
      } else if (c === '\\') {
        const next = text[pos + 1];
        if (next === undefined) throw new LineError('backslash at the end of the file', pos);
        if (next !== '\n') out += next; // backslash-newline continues the line
        pos += 2;
      } else if (SPECIAL.has(c)) {
        throw new LineError(
          c === '\r'
            ? 'carriage return outside quotes (Windows line endings?)'
            : 'shell special character outside quotes; put the value in single quotes',
          pos,
        );
      } else {
        out += c;
        pos++;
      }
    }
  };

  const readDoubleQuoted = (): string => {
    const open = pos++;
    let out = '';
    for (;;) {
      const c = text[pos];
      if (c === undefined) throw new LineError('unterminated double quote', open); // pos is at the end
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === '\0') throw new LineError('NUL bytes are not allowed', pos);
      if (c === '`' || (c === '$' && /[A-Za-z0-9_{(@*#?$!-]/.test(text[pos + 1] ?? ''))) {
        throw new LineError(
          'shell expansion inside double quotes is not supported; escape it or use single quotes',
          pos,
        );
      }
      if (c === '\\') {
        const next = text[pos + 1];
        if (next !== undefined && (DQ_ESCAPES.has(next) || next === '\n')) {
          if (next !== '\n') out += next;
          pos += 2;
          continue;
        }
      }
      out += c;
      pos++;
    }
  };

  const readAssignment = () => {
    key = undefined;
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m || text[pos + m[0].length] !== '=')
      throw new LineError('expected `export KEY=value` or `KEY=value`', pos);
    const start = pos;
    pos += m[0].length + 1;
    key = m[0];
    const value = readValue();
    const prev = firstSeen.get(key);
    if (prev !== undefined) throw new LineError(`${key} is set twice (first on line ${prev})`, start);
    firstSeen.set(key, locate(start).line);
    values.set(key, new Secret(value));
  };

  while (pos < text.length) {
    skipBlanks();
    try {
      if (atEnd() || text[pos] === '#') {
        skipLine();
      } else {
        if (text.startsWith('export', pos) && [' ', '\t', '\n', '#', undefined].includes(text[pos + 6])) {
          pos += 6;
          skipBlanks();
          if (atEnd() || text[pos] === '#') throw new LineError('`export` without KEY=value', pos);
        }
        // One or more assignments, as `export A=1 B=2` sets both; then an optional comment.
        for (;;) {
          readAssignment();
          key = undefined;
          skipBlanks();
          if (atEnd()) break;
          if (text[pos] === '#') {
            skipLine();
            break;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      problems.push({ message: e.message, location: locate(e.pos), ...(key ? { path: key } : {}) });
      pos = Math.max(pos, e.pos);
      skipLine();
    }
    pos++; // the newline
  }

  if (problems.length > 0) {
    throw new OdpError('SECRETS_INVALID', `${file}: ${problems.length} malformed line(s)`, {
      problems,
      hint: "Write one `export KEY='value'` per line; inside single quotes everything is literal (write ' as '\\'').",
    });
  }
  return values;
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
