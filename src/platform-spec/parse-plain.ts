// The fast path of parseSpec (docs/decisions/0053): a plain file that the schema
// accepts, read without the YAML library (yaml-plain.ts). Undefined for anything
// else: parse.ts then reads the file with the library and reports its problems,
// so every problem still comes from one path. In a module of its own, without
// the library, so that loading a platform whose files are all plain (`odp
// check`) does not load it at all.
import type * as z from 'zod';
import type { SourceLocation } from '../errors.js';
import { readPlainYaml } from './yaml-plain.js';

export interface Parsed<T> {
  value: T;
  /** Where a path of the file is, to locate later (semantic) problems in the same file. */
  locate: (path: readonly PropertyKey[]) => SourceLocation;
}

export function parsePlain<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
): Parsed<z.output<S>> | undefined {
  const plain = readPlainYaml(text);
  if (!plain) return undefined;
  const result = schema.safeParse(plain.data);
  if (!result.success) return undefined;
  const locate = (path: readonly PropertyKey[]): SourceLocation => {
    const { line, col } = plain.linePos(plain.offsetOf(path));
    return { file, line, column: col };
  };
  return { value: result.data, locate };
}
