// docs/cli-conventions.md, generated from the conventions (src/cli/conventions.ts)
// and the command tree itself, and the exit-code table of docs/troubleshooting.md:
// `npm run docs:cli` writes them, and the command-tree test fails while a file
// differs from what this returns.
import type { Command } from 'commander';
import { EXIT_FOR_ERROR, ExitCode, type ExitCodeName } from '../errors.js';
import { commandPath, COMMANDS, EXIT_MEANINGS, FLAGS, runnableCommands } from './conventions.js';

export const CONVENTIONS_DOC = 'docs/cli-conventions.md';
export const TROUBLESHOOTING_DOC = 'docs/troubleshooting.md';

/** Around the generated part of the troubleshooting page; the rest of it is written by hand. */
const BEGIN = '<!-- exit codes: generated from src/cli/conventions.ts by `npm run docs:cli` -->';
const END = '<!-- end of the generated exit codes -->';

const has = (c: Command, long: string) => c.options.some((o) => o.long === long && !o.hidden);

export function conventionsMarkdown(program: Command): string {
  const globals = program.options.map((o) => `| \`${o.flags}\` | ${o.description} |`);
  const mark = (yes: boolean) => (yes ? '✓' : '');
  const rows = runnableCommands(program).map((c) => {
    const path = commandPath(c);
    const conv = COMMANDS[path];
    const note = conv?.noDryRun
      ? `no --dry-run: ${conv.noDryRun}`
      : [conv?.jsonLines ? 'JSON lines' : '', conv?.anywhere ? 'needs no platform directory' : '']
          .filter(Boolean)
          .join('; ');
    return `| \`odp ${path}\` | ${conv?.kind ?? '?'} | ${mark(has(c, '--json'))} | ${mark(has(c, '--dry-run'))} | ${mark(has(c, '--yes'))} | ${note} |`;
  });
  return `<!-- Generated from src/cli/conventions.ts by \`npm run docs:cli\`; test/unit/cli-conventions.test.ts fails when it is stale. -->

# Command-line conventions

Every command of \`odp\` follows these rules; a test walks the whole command tree and
holds each command to them.

- **Read commands** print and change nothing. They take \`${FLAGS.json.flags}\`: ${FLAGS.json.description}.
  They create nothing either, not even the state database: outside a platform directory
  they say there is none and exit ${ExitCode.notFound}.
- **Changes** take \`${FLAGS.dryRun.flags}\`: ${FLAGS.dryRun.description}. Those that ask before they
  destroy or replace data take \`${FLAGS.yes.flags}\` (${FLAGS.yes.description}); integration and prod
  also want the stack name typed out (\`--confirm STACK\`). Without a terminal, nothing is
  asked: a missing confirmation is a usage error.
- **Output**: results on stdout, progress and notes on stderr, errors as \`error:\` and
  \`hint:\` lines on stderr, or with \`--json\` as \`{"error": {"code", "message", "hint",
  "problems"}}\` on stdout (usage errors too).
- \`odp --json CMD\` is \`odp CMD --json\`; a command without JSON output refuses it.
- Every command's \`--help\` ends with examples.

## Options of odp itself

Given before the command (\`-C\` and \`--debug\` are also accepted after it).

| Option | Meaning |
| --- | --- |
${globals.join('\n')}

## Exit codes

One code per kind of error, whatever the command. \`odp --help\` lists them too.

${exitCodeTable()}

## Commands

| Command | Kind | \`--json\` | \`--dry-run\` | \`-y/--yes\` | Note |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}

/** Each exit code: its number, name, meaning and the error codes (`--json`'s `error.code`) it stands for. */
function exitCodeTable(): string {
  const errorsOf = (name: string) =>
    Object.entries(EXIT_FOR_ERROR)
      .filter(([, exit]) => exit === name)
      .map(([code]) => `\`${code}\``)
      .join(', ');
  const codes = Object.entries(ExitCode).map(
    ([name, code]) =>
      `| ${code} | \`${name}\` | ${EXIT_MEANINGS[name as ExitCodeName]} | ${errorsOf(name) || '—'} |`,
  );
  return `| Code | Name | Meaning | Error codes (\`--json\`'s \`error.code\`) |
| --- | --- | --- | --- |
${codes.join('\n')}`;
}

/** The troubleshooting page with its exit-code table made from the conventions again. */
export function troubleshootingMarkdown(page: string): string {
  const from = page.indexOf(BEGIN);
  const to = page.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${TROUBLESHOOTING_DOC} lost its markers: ${BEGIN} … ${END}`);
  return `${page.slice(0, from + BEGIN.length)}\n\n${exitCodeTable()}\n\n${page.slice(to)}`;
}
