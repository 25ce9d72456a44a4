// A fast reader for the plain YAML spec files are made of (docs/decisions/0053):
// block mappings with plain keys, one-line scalars (plain, 'single' or "double"
// quoted without escapes), block sequences of scalars and one-line flow
// collections of plain words, comments. It gives the same data as the `yaml`
// library (YAML 1.2 core schema) and the same locations as parse.ts finds in
// the library's document, at a small fraction of its cost. Anything else
// (anchors, tags, block or multi-line scalars, escapes, quotes in flow, tabs, CR,
// duplicate keys, a key such as `true` or `__proto__`, an error of any kind)
// returns undefined, and the caller reads the file with the library, which
// reports what is wrong. So this never decides that a file is invalid, and
// never accepts one the library refuses: test/unit/yaml-plain.test.ts compares
// the two on generated and mutated files.

/** Where the nodes of a path begin: what parse.ts's `offsetOf` reads from the library's document. */
interface Pos {
  start: number;
  keys?: Map<string, { key: number; value: Pos }>;
  items?: Pos[];
}

export interface PlainYaml {
  data: Record<string, unknown>;
  /** The offset of the deepest node of `path` that exists: the key itself when it is a map key. */
  offsetOf(path: readonly PropertyKey[]): number;
  /** Line and column (1-based) of an offset, as the library's LineCounter gives them. */
  linePos(offset: number): { line: number; col: number };
}

/** Spec files are a few kilobytes; larger ones (and all the bounds) are the library's business. */
const MAX_TEXT = 64 * 1024;
const MAX_DEPTH = 16;
// Printable characters only: no tab, CR, C0/C1 controls, line separators, bidi overrides, BOM, surrogates.
const UNUSUAL = /[^\n\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]|[\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/;
/** Keys the core schema reads as null or a boolean: their JS key would not be their text. */
const TYPED_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const FLOW_CHAR = /[A-Za-z0-9_./+-]/;
const MAYBE_TYPED = new Set('~nNtTfF.+-0123456789');
/** A plain scalar cannot start with an indicator; `-` is one before a blank. */
const PLAIN_START = /^(?:[^-?:,[\]{}#&*!|>'"%@`]|-[^\s])/;

interface Line {
  indent: number;
  /** Offset of the first non-blank character. */
  start: number;
  text: string;
}

class Decline extends Error {}
const decline = (): never => {
  throw new Decline();
};

export function readPlainYaml(text: string): PlainYaml | undefined {
  if (text.length > MAX_TEXT || UNUSUAL.test(text)) return undefined;
  const lineStarts = [0];
  const lines: Line[] = [];
  for (let at = 0; at <= text.length;) {
    let end = text.indexOf('\n', at);
    if (end === -1) end = text.length;
    else lineStarts.push(end + 1);
    let indent = 0;
    while (text.charCodeAt(at + indent) === 32) indent++;
    const content = text.slice(at + indent, end);
    if (content !== '' && content[0] !== '#') {
      // Directives and document markers are for the library.
      if (indent === 0 && /^(?:%|---|\.\.\.)/.test(content)) return undefined;
      lines.push({ indent, start: at + indent, text: content });
    }
    at = end + 1;
  }
  if (lines.length === 0 || lines[0]!.indent !== 0 || lines[0]!.text.startsWith('- ')) return undefined;
  try {
    const root = new Reader(lines);
    const { value, pos } = root.map(0, 0, 0);
    if (root.next !== lines.length) return undefined;
    return {
      data: value,
      offsetOf: (path) => offsetOf(pos, path),
      linePos: (offset) => linePos(lineStarts, offset),
    };
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}

class Reader {
  next = 0;
  constructor(private readonly lines: Line[]) {}

  /** The block mapping whose keys are at `indent`, from line `this.next`. */
  map(i: number, indent: number, depth: number): { value: Record<string, unknown>; pos: Pos } {
    if (depth > MAX_DEPTH) decline();
    const value: Record<string, unknown> = {};
    const pos: Pos = { start: this.lines[i]!.start, keys: new Map() };
    this.next = i;
    while (this.next < this.lines.length) {
      const line = this.lines[this.next]!;
      if (line.indent < indent) break;
      if (line.indent > indent || line.text.startsWith('- ') || line.text === '-') decline();
      const colon = line.text.indexOf(':');
      const key = line.text.slice(0, colon);
      const after = line.text[colon + 1];
      if (colon < 1 || !KEY.test(key) || TYPED_KEY.test(key) || key === '__proto__') decline();
      if (after !== undefined && after !== ' ') decline();
      if (pos.keys!.has(key)) decline(); // the library reports the duplicate
      let rest = colon + 1;
      while (line.text[rest] === ' ') rest++;
      this.next++;
      let child: { value: unknown; pos: Pos };
      if (rest === line.text.length || line.text[rest] === '#') {
        child = this.nested(line, depth);
      } else {
        child = inline(line.text, rest, line.start);
        this.noContinuation(indent);
      }
      value[key] = child.value;
      pos.keys!.set(key, { key: line.start, value: child.pos });
    }
    return { value, pos };
  }

  /** What follows `key:` with nothing after it: a block below it, a sequence at its indent, or null. */
  private nested(line: Line, depth: number): { value: unknown; pos: Pos } {
    const below = this.lines[this.next];
    if (below && below.indent > line.indent) {
      return below.text.startsWith('- ')
        ? this.seq(this.next, below.indent, depth + 1)
        : this.map(this.next, below.indent, depth + 1);
    }
    if (below && below.indent === line.indent && below.text.startsWith('- ')) {
      return this.seq(this.next, below.indent, depth + 1);
    }
    // An empty value: the library's null scalar starts after the colon; only a key's offset is ever read.
    return { value: null, pos: { start: line.start + line.text.length } };
  }

  /** A block sequence of one-line items at `indent`. */
  private seq(i: number, indent: number, depth: number): { value: unknown[]; pos: Pos } {
    if (depth > MAX_DEPTH) decline();
    const value: unknown[] = [];
    const pos: Pos = { start: this.lines[i]!.start, items: [] };
    this.next = i;
    while (this.next < this.lines.length) {
      const line = this.lines[this.next]!;
      if (line.indent !== indent || !line.text.startsWith('- ')) break;
      let rest = 2;
      while (line.text[rest] === ' ') rest++;
      if (rest === line.text.length || line.text[rest] === '#') decline();
      const item = inline(line.text, rest, line.start);
      this.next++;
      this.noContinuation(indent);
      value.push(item.value);
      pos.items!.push(item.pos);
    }
    return { value, pos };
  }

  /** A line more indented than the one before, after a one-line value, is a continuation (or an error). */
  private noContinuation(indent: number): void {
    const following = this.lines[this.next];
    if (following && following.indent > indent) decline();
  }
}

/** A one-line value from `text[at]` to the end of the line (or a comment). `base` is the line's offset. */
function inline(text: string, at: number, base: number): { value: unknown; pos: Pos } {
  const start = base + at;
  const c = text[at];
  if (c === "'" || c === '"') {
    let end = at + 1;
    let s = '';
    for (;;) {
      const close = text.indexOf(c, end);
      if (close === -1) decline();
      s += text.slice(end, close);
      if (c === "'" && text[close + 1] === "'") {
        s += "'";
        end = close + 2;
        continue;
      }
      end = close + 1;
      break;
    }
    if (c === '"' && s.includes('\\')) decline();
    endOfLine(text, end);
    return { value: s, pos: { start } };
  }
  if (c === '[' || c === '{') {
    const flow = new Flow(text, at, base);
    const node = flow.node(0);
    endOfLine(text, flow.i);
    return node;
  }
  if (!PLAIN_START.test(text.slice(at, at + 2))) decline();
  const hash = text.indexOf(' #', at);
  const word = trimSpaces(text.slice(at, hash === -1 ? text.length : hash));
  // `a: b` would be a nested mapping (an error), `a:` at the end a key.
  if (word.includes(': ') || word.endsWith(':')) decline();
  return { value: plainScalar(word), pos: { start } };
}

/** A one-line flow collection of plain words, nested or not: `[a, b]`, `{ k: v, l: [x, y] }`. */
class Flow {
  constructor(
    private readonly text: string,
    public i: number,
    private readonly base: number,
  ) {}

  node(depth: number): { value: unknown; pos: Pos } {
    if (depth > MAX_DEPTH) decline();
    const start = this.base + this.i;
    const open = this.text[this.i];
    if (open !== '[' && open !== '{') {
      const word = this.word();
      if (!PLAIN_START.test(word)) decline();
      return { value: plainScalar(word), pos: { start } };
    }
    const close = open === '[' ? ']' : '}';
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    const pos: Pos = open === '[' ? { start, items: [] } : { start, keys: new Map() };
    this.i++;
    this.blanks();
    if (this.text[this.i] === close) {
      this.i++;
      return { value: open === '[' ? seq : map, pos };
    }
    for (;;) {
      if (pos.keys) {
        const keyAt = this.base + this.i;
        const key = this.word();
        if (!KEY.test(key) || TYPED_KEY.test(key) || key === '__proto__' || pos.keys.has(key)) decline();
        if (this.text[this.i] !== ':' || this.text[this.i + 1] !== ' ') decline();
        this.i++;
        this.blanks();
        const child = this.node(depth + 1);
        map[key] = child.value;
        pos.keys.set(key, { key: keyAt, value: child.pos });
      } else {
        const child = this.node(depth + 1);
        seq.push(child.value);
        pos.items!.push(child.pos);
      }
      this.blanks();
      const sep = this.text[this.i];
      this.i++;
      if (sep === close) return { value: open === '[' ? seq : map, pos };
      if (sep !== ',') decline();
      this.blanks();
      if (this.text[this.i] === close) decline(); // a trailing comma: the library's call
    }
  }

  /** A plain word of the flow context: no indicators, no blanks, no colon. */
  private word(): string {
    const from = this.i;
    while (this.i < this.text.length && FLOW_CHAR.test(this.text[this.i]!)) this.i++;
    return this.text.slice(from, this.i);
  }

  private blanks(): void {
    while (this.text[this.i] === ' ') this.i++;
  }
}

/** YAML's blanks are spaces (tabs are declined): not String#trim's Unicode white space, such as U+00A0. */
function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return s.slice(a, b);
}

/** After a closing quote or bracket: blanks, then nothing or a comment. */
function endOfLine(text: string, at: number): void {
  let i = at;
  while (text[i] === ' ') i++;
  if (i < text.length && !(text[i] === '#' && i > at)) decline();
}

/** A plain scalar's value under the YAML 1.2 core schema, as the `yaml` library resolves it (same tests, same order). */
export function plainScalar(s: string): unknown {
  // Only these first characters can begin a null, a boolean or a number: most words are done here.
  if (s !== '' && !MAYBE_TYPED.has(s[0]!)) return s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    if (s.slice(-3).toLowerCase() === 'nan') return NaN;
    return s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

function offsetOf(root: Pos, path: readonly PropertyKey[]): number {
  let node = root;
  let best = root.start;
  for (const key of path) {
    if (node.keys) {
      const entry = node.keys.get(String(key));
      if (!entry) return best;
      best = entry.key;
      node = entry.value;
    } else if (node.items && typeof key === 'number') {
      const item = node.items[key];
      if (!item) return best;
      best = item.start;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function linePos(lineStarts: number[], offset: number): { line: number; col: number } {
  let low = 0;
  let high = lineStarts.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (offset < lineStarts[mid]!) high = mid;
    else low = mid + 1;
  }
  return { line: low, col: offset - lineStarts[low - 1]! + 1 };
}
