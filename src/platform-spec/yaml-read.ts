// YAML text → a yaml Document and plain data, with every failure of the YAML
// library (syntax, aliases, tags, size, nesting) turned into problems with
// file:line:column. The library throws on some inputs (an unresolved alias, an
// alias bomb) and exhausts memory on others (very deep flow nesting), so the
// bounds are checked here before and around it. Pure; shared by the spec
// loader and the Rancher importer.
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { Problem, SourceLocation } from '../errors.js';
import { MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_DEPTH } from './yaml-limits.js';

export { MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_DEPTH } from './yaml-limits.js';

export interface YamlRead {
  doc: Document;
  at: (offset: number) => SourceLocation;
  /** Errors: the file cannot be used. */
  errors: Problem[];
  /** Unknown tags: the library keeps the value as a string. */
  warnings: Problem[];
  /** Repeated keys when they are allowed (uniqueKeys false): the earlier ones were dropped. */
  duplicates: Problem[];
}

export function readYaml(file: string, text: string, opts: { uniqueKeys: boolean }): YamlRead {
  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(Math.max(0, offset));
    return { file, line, column: col };
  };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_YAML_BYTES) {
    const doc = parseDocument('');
    const message = `the file is ${bytes} bytes; at most ${MAX_YAML_BYTES} (1 MiB) are read`;
    return {
      doc,
      at: () => ({ file, line: 1, column: 1 }),
      errors: [{ message, location: { file, line: 1, column: 1 } }],
      warnings: [],
      duplicates: [],
    };
  }
  const deep = tooDeep(text);
  if (deep !== undefined) {
    const lines = text.slice(0, deep).split('\n');
    const location = { file, line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
    return {
      doc: parseDocument(''),
      at: () => location,
      errors: [{ message: `nesting deeper than ${MAX_YAML_DEPTH} levels`, location }],
      warnings: [],
      duplicates: [],
    };
  }
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: opts.uniqueKeys,
    strict: true,
  });
  const problem = (e: { message: string; pos: [number, number] }): Problem => ({
    message: quotable(firstLine(e.message)),
    location: at(e.pos[0]),
  });
  const warnings = doc.warnings.map(problem);
  const duplicates = opts.uniqueKeys ? [] : dropEarlierDuplicates(doc, at);
  return { doc, at, errors: doc.errors.map(problem), warnings, duplicates };
}

/**
 * The document as plain data, aliases expanded within bounds. The library throws
 * ReferenceError for an unresolved or excessive alias: returned as a problem at the alias.
 */
export function yamlData(read: YamlRead): { data: unknown } | { problem: Problem } {
  try {
    return { data: read.doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (e) {
    const message = quotable(e instanceof Error ? firstLine(e.message) : String(e));
    let offset = 0;
    let unresolved: number | undefined;
    visit(read.doc, {
      Alias(_, node) {
        if (offset === 0) offset = node.range?.[0] ?? 0;
        if (unresolved === undefined && node.resolve(read.doc) === undefined) unresolved = node.range?.[0];
      },
    });
    if (unresolved !== undefined) {
      return {
        problem: {
          message: 'alias to an anchor that is not defined before it',
          location: read.at(unresolved),
        },
      };
    }
    const alias = /alias/i.test(message);
    return {
      problem: {
        message: alias ? `aliases expand too much (at most ${MAX_YAML_ALIASES} expansions)` : message,
        location: read.at(offset),
      },
    };
  }
}

/**
 * The offset where flow collections ([ {) nest deeper than the bound. A bracket
 * opens a collection only after a blank, a line start or an indicator (`foo[1]`
 * is a plain scalar); quoted strings and comments are skipped.
 */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const prev = i === 0 ? '\n' : (text[i - 1] as string);
    if (prev === '\n' && depth === 0) {
      // `- - - x` nests block collections on one line, two bytes a level.
      const at = compactNesting(text, i);
      if (at !== undefined) return at;
    }
    const opens = /\s/.test(prev) || ',:-?'.includes(prev) || (depth > 0 && '[{'.includes(prev));
    if (c === '#' && /\s/.test(prev)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && opens) {
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if ((c === '[' || c === '{') && (depth > 0 || opens)) {
      if (++depth > MAX_YAML_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

function compactNesting(text: string, start: number): number | undefined {
  let levels = 0;
  let i = start;
  while (text[i] === ' ' || text[i] === '\t') i++;
  while ('-?:'.includes(text[i] ?? 'x') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
    if (++levels > MAX_YAML_DEPTH) return i;
    i += 2;
    while (text[i] === ' ' || text[i] === '\t') i++;
  }
  return undefined;
}

/**
 * With uniqueKeys off the library keeps every pair, and `get` finds the first;
 * PyYAML (docker-compose 1.x) keeps the last. Drops the earlier pairs so the
 * document reads as compose read it, and says where each repeat is.
 */
function dropEarlierDuplicates(doc: Document, at: (offset: number) => SourceLocation): Problem[] {
  const out: Problem[] = [];
  visit(doc, {
    Map(_, map) {
      const last = new Map<string, number>();
      const keyOf = (key: unknown): string | undefined => (isScalar(key) ? String(key.value) : undefined);
      map.items.forEach((pair, i) => {
        const k = keyOf(pair.key);
        if (k !== undefined) last.set(k, i);
      });
      if (last.size === map.items.length) return;
      const first = new Map<string, number>();
      map.items.forEach((pair) => {
        const k = keyOf(pair.key);
        const offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
        if (k === undefined) return;
        const seen = first.get(k);
        if (seen === undefined) first.set(k, offset);
        else {
          out.push({
            message: `duplicate key "${k}" (first on line ${at(seen).line}); the last one wins, as in docker-compose`,
            location: at(offset),
          });
        }
      });
      map.items = map.items.filter((pair, i) => {
        const k = keyOf(pair.key);
        return k === undefined || last.get(k) === i;
      });
    },
  });
  return out;
}

// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * The library quotes the offending text in its messages: a huge or hostile
 * token would flood the terminal or reach it as an escape sequence. Shortened,
 * control characters shown as \u escapes.
 */
export function quotable(message: string, max = 200): string {
  const safe = message.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
