// How commands speak: human text on a terminal, one JSON document with --json,
// errors on stderr as `error: …` lines with a hint, never a stack trace unless
// --debug. Every command prints through here so the conventions hold.
import { formatProblem, isOdpError, OdpError } from '../errors.js';

export interface GlobalOptions {
  dir?: string;
  json?: boolean;
  debug?: boolean;
}

export interface Out {
  json: boolean;
  /** A human line on stdout; suppressed with --json. */
  line(text?: string): void;
  /** The machine-readable result (with --json) or nothing. */
  data(value: unknown): void;
  /** Progress and notes for humans: stderr, so stdout stays clean for pipes. */
  note(text: string): void;
}

export function makeOut(opts: GlobalOptions): Out {
  const json = Boolean(opts.json);
  return {
    json,
    line: (text = '') => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    data: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    note: (text) => process.stderr.write(`${text}\n`),
  };
}

export function reportError(e: unknown, opts: GlobalOptions): number {
  const err = isOdpError(e)
    ? e
    : new OdpError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
  } else {
    process.stderr.write(`error: ${err.message}\n`);
    for (const p of err.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
    if (err.detail) process.stderr.write(`${err.detail.replace(/^/gm, '  | ')}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  }
  if (opts.debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return err.exitCode;
}
