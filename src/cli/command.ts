// The glue between commander and our commands: every action gets a context
// (global options, output, platform directory) and its errors are turned into
// exit codes in one place.
import { Command, InvalidArgumentError } from 'commander';
import { OdpError } from '../errors.js';
import { requirePlatformDir, resolveDir } from '../platformdir/dir.js';
import { readingState } from '../state/read-only.js';
import { commandPath, COMMANDS, FLAGS } from './conventions.js';
import { makeOut, reportError, type GlobalOptions, type Out } from './output.js';

export interface Ctx {
  out: Out;
  globals: GlobalOptions;
  /** The platform directory (--dir, ODP_DIR or the current directory). */
  dir: string;
}

let exitCode = 0;
export function takeExitCode(): number {
  const c = exitCode;
  exitCode = 0;
  return c;
}

/**
 * Wraps a command body. Commander calls actions with (...positionals, options,
 * command); the body receives (ctx, ...positionals, options).
 */
export function handler<A extends unknown[]>(
  body: (ctx: Ctx, ...args: A) => Promise<number | void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const ctx: Ctx = { out: makeOut(globals), globals, dir: resolveDir(globals.dir) };
    const conv = COMMANDS[commandPath(command)];
    const run = async () => (await body(ctx, ...(args.slice(0, -1) as A))) ?? 0;
    try {
      if (globals.json) jsonBeforeCommand(command);
      if (conv?.kind !== 'read') exitCode = await run();
      else {
        // A read creates nothing: outside a platform it says so, and state is read, never created.
        if (!conv.anywhere) requirePlatformDir(ctx.dir);
        exitCode = await readingState(run);
      }
    } catch (e) {
      exitCode = reportError(e, globals);
    }
  };
}

/** Adds `--json` to a command, with the same wording everywhere (src/cli/conventions.ts). */
export function withJson(cmd: Command): Command {
  return cmd.option(FLAGS.json.flags, FLAGS.json.description);
}

/**
 * `odp --json CMD` is `odp CMD --json`: the command sees its own flag set. A command
 * without JSON output says so rather than print text where JSON is expected.
 */
function jsonBeforeCommand(command: Command): void {
  if (!command.options.some((o) => o.long === '--json')) {
    throw new OdpError('USAGE', `odp ${commandPath(command)} has no JSON output`, {
      hint: `Run it without --json; \`odp ${commandPath(command)} --help\` says what it prints.`,
    });
  }
  command.setOptionValue('json', true);
}

/**
 * A flag's positive number (seconds, hours, minutes). `Number('soon')` is NaN,
 * and a NaN timeout would wait forever or not at all: refuse it up front.
 */
export function positiveNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new OdpError('USAGE', `${flag} expects a positive number, not ${v}`);
  return n;
}

/**
 * A parser for commander's `.option()`: the flag's value is checked once, while
 * the command line is read, so a refused value is a usage error (exit 2) before
 * any lock, record or engine call, and the action receives the parsed value.
 */
export function checked<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

/** A flag's whole number from `min` (a count, a limit, a port). */
export function wholeNumber(v: string, flag: string, min = 1, max = 65535): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new OdpError('USAGE', `${flag} expects a whole number from ${min} to ${max}, not ${v}`);
  }
  return n;
}

/** Ends a command's --help with its examples, one command line each. */
export function withExamples(cmd: Command, examples: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}
