// The one reader of `KEY=value` env files: the secrets inside `<project>.env.gpg`
// (src/secrets/envfile.ts) and an original stack's rancher.env and
// rancher.public.env (src/importers/shell-env.ts). Both are shell files a person
// may still `source`, so both are read as a POSIX shell reads an assignment:
// optional `export`, several assignments on a line, quotes and backslashes
// (values may span lines inside quotes or after a backslash), `#` comments
// after a blank. What would make the shell run, redirect or split something
// (` ; & | < > ( )) is refused, never guessed. Where the two files
// differ on purpose, an option says so. Pure: text in, tokens and problems out.
// Messages never quote a value: the same code reads secrets.

export interface EnvLexOptions {
  /**
   * `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}` become references
   * for the caller to resolve (the Rancher files used them); other expansions are
   * refused. Without it, any expansion is refused: the secrets file holds values.
   */
  references: boolean;
  /**
   * Also refuse, outside quotes, `$` and the characters that glob or expand in
   * some shells (`* ? [ ] ~ ! { }`), as the secrets file does: odp writes every
   * value single-quoted, so a plain word needs none of them.
   */
  strict: boolean;
  /** `\r\n` ends a line like `\n` (a file edited on Windows); else a carriage return outside quotes is refused. */
  crlf: boolean;
  /** A key set twice is refused; else the last one wins, as in the shell. */
  duplicates: 'refuse' | 'last-wins';
}

/** A literal piece of a value, or a reference to a variable (only with `references`). */
export type ValuePart = string | Reference;

export interface Reference {
  name: string;
  /** `${NAME:-text}` (ifEmpty) or `${NAME-text}`: the text when the variable is unset (or empty). */
  fallback?: { text: string; ifEmpty: boolean };
}

export interface Assignment {
  key: string;
  line: number;
  column: number;
  /** Adjacent literals are joined; without `references`, at most one string. */
  parts: ValuePart[];
}

export interface LexProblem {
  message: string;
  line: number;
  column: number;
  /** The key whose value was being read, when there was one. */
  key?: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Outside quotes these make any shell run, redirect, split or substitute something. */
const ALWAYS_REFUSED = new Set([...'`;&|<>()']);
/** …and these are refused too in strict mode (see EnvLexOptions.strict). */
const STRICT_REFUSED = new Set([...'$*?[]~!{}']);
/** After a backslash inside double quotes, only these are escaped (POSIX). */
const DQ_ESCAPES = new Set(['$', '`', '"', '\\']);
/** What may follow `$` to make it an expansion (POSIX); a `$` before anything else is literal. */
const EXPANSION_START = /[A-Za-z0-9_{(@*#?$!-]/;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s;

class LineError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

export function lexEnv(
  input: string,
  options: EnvLexOptions,
): { assignments: Assignment[]; problems: LexProblem[] } {
  // Dropping the \r that ends each line (and the file) keeps every other character's line and column.
  const text = options.crlf ? input.replace(/\r(?=\n|$)/g, '') : input;
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
    return { line: lo + 1, column: pos - lineStarts[lo]! + 1 };
  };

  const assignments: Assignment[] = [];
  const problems: LexProblem[] = [];
  const firstSeen = new Map<string, number>();
  let pos = 0;
  let key: string | undefined;
  let parts: ValuePart[] = [];

  const literal = (s: string) => {
    if (s === '') return;
    const last = parts.length - 1;
    if (typeof parts[last] === 'string') parts[last] += s;
    else parts.push(s);
  };
  const skipBlanks = () => {
    while (text[pos] === ' ' || text[pos] === '\t') pos++;
  };
  const skipLine = () => {
    while (pos < text.length && text[pos] !== '\n') pos++;
  };
  const atEnd = () => pos >= text.length || text[pos] === '\n';

  /** At a `$` that starts an expansion: a reference, or a refusal. */
  const readDollar = (inQuotes: boolean) => {
    const start = pos;
    const next = text[pos + 1] ?? '';
    if (!options.references)
      throw new LineError(
        inQuotes
          ? 'shell expansion inside double quotes is not supported; escape it or use single quotes'
          : 'shell special character outside quotes; put the value in single quotes',
        start,
      );
    if (next === '(') throw new LineError('command substitution is not supported', start);
    NAME.lastIndex = pos + 1;
    const bare = NAME.exec(text)?.[0];
    if (bare) {
      parts.push({ name: bare });
      pos += 1 + bare.length;
      return;
    }
    const close = next === '{' ? text.indexOf('}', pos + 2) : -1;
    const m = close < 0 ? null : REFERENCE.exec(text.slice(pos + 2, close));
    if (!m || m[3]?.includes('\n'))
      throw new LineError(
        'unsupported expansion: only $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}',
        start,
      );
    const [, name = '', op, fallback = ''] = m;
    parts.push(op ? { name, fallback: { text: fallback, ifEmpty: op === ':-' } } : { name });
    pos = close + 1;
  };

  const readDoubleQuoted = () => {
    const open = pos++;
    for (;;) {
      const c = text[pos];
      if (c === undefined) throw new LineError('unterminated double quote', open); // pos is at the end
      if (c === '"') {
        pos++;
        return;
      }
      if (c === '\0') throw new LineError('NUL bytes are not allowed', pos);
      if (c === '`')
        throw new LineError(
          options.references
            ? 'command substitution is not supported'
            : 'shell expansion inside double quotes is not supported; escape it or use single quotes',
          pos,
        );
      if (c === '$' && EXPANSION_START.test(text[pos + 1] ?? '')) {
        readDollar(true);
        continue;
      }
      if (c === '\\') {
        const next = text[pos + 1];
        if (next !== undefined && (DQ_ESCAPES.has(next) || next === '\n')) {
          if (next !== '\n') literal(next); // backslash-newline continues the line
          pos += 2;
          continue;
        }
      }
      literal(c);
      pos++;
    }
  };

  /** One shell word: quoted and unquoted pieces, up to a blank or the end of the line. */
  const readValue = () => {
    for (;;) {
      const c = text[pos];
      if (c === undefined || c === ' ' || c === '\t' || c === '\n') return;
      if (c === '\0') throw new LineError('NUL bytes are not allowed', pos);
      if (c === "'") {
        const end = text.indexOf("'", pos + 1);
        if (end < 0) {
          const open = pos;
          pos = text.length; // the rest of the file is inside the quote: nothing more to check
          throw new LineError('unterminated single quote', open);
        }
        literal(text.slice(pos + 1, end));
        pos = end + 1;
      } else if (c === '"') {
        readDoubleQuoted();
      } else if (c === '\\') {
        const next = text[pos + 1];
        if (next === undefined) throw new LineError('backslash at the end of the file', pos);
        if (next !== '\n') literal(next); // backslash-newline continues the line
        pos += 2;
      } else if (c === '\r') {
        throw new LineError('carriage return outside quotes (Windows line endings?)', pos);
      } else if (c === '$' && options.references) {
        if (EXPANSION_START.test(text[pos + 1] ?? '')) readDollar(false);
        else {
          literal('$');
          pos++;
        }
      } else if (ALWAYS_REFUSED.has(c) || (options.strict && STRICT_REFUSED.has(c)) || c === '$') {
        throw new LineError('shell special character outside quotes; put the value in single quotes', pos);
      } else {
        literal(c);
        pos++;
      }
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
    parts = [];
    readValue();
    const where = locate(start);
    const prev = firstSeen.get(key);
    if (prev !== undefined && options.duplicates === 'refuse')
      throw new LineError(`${key} is set twice (first on line ${prev})`, start);
    if (prev === undefined) firstSeen.set(key, where.line);
    assignments.push({ key, ...where, parts });
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
      problems.push({ message: e.message, ...locate(e.pos), ...(key ? { key } : {}) });
      pos = Math.max(pos, e.pos);
      skipLine();
    }
    pos++; // the newline
  }
  return { assignments, problems };
}
