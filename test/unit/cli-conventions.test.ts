// The command tree against the conventions (src/cli/conventions.ts): every
// command of `odp` is walked, as main() builds it, and held to its kind's flags;
// every command has a description and examples; every error code has an exit
// code with a meaning; docs/cli-conventions.md is what the table generates, and
// docs/troubleshooting.md carries the same exit codes, each with a section.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  CONVENTIONS_DOC,
  conventionsMarkdown,
  TROUBLESHOOTING_DOC,
  troubleshootingMarkdown,
} from '../../src/cli/conventions-doc.js';
import { commandPath, COMMANDS, EXIT_MEANINGS, runnableCommands } from '../../src/cli/conventions.js';
import { buildProgram } from '../../src/cli/main.js';
import { EXIT_FOR_ERROR, ExitCode } from '../../src/errors.js';

const program = buildProgram();
const commands = runnableCommands(program);
const flags = (c: Command) => c.options.filter((o) => !o.hidden).map((o) => o.flags);

function helpOf(c: Command): string {
  let text = '';
  c.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  c.outputHelp();
  return text;
}

test('every command is in the conventions table, and the table names no other', () => {
  const paths = commands.map(commandPath);
  assert.ok(paths.length > 40, `${paths.length} commands`);
  assert.deepEqual(
    paths.filter((p) => !COMMANDS[p]),
    [],
    'commands missing from src/cli/conventions.ts',
  );
  assert.deepEqual(
    Object.keys(COMMANDS).filter((p) => !paths.includes(p)),
    [],
    'the table names commands odp does not have',
  );
});

describe('each command follows its kind', () => {
  for (const c of commands) {
    const path = commandPath(c);
    const conv = COMMANDS[path];
    if (!conv) continue;
    test(`odp ${path} (${conv.kind}${conv.asks ? ', asks' : ''})`, () => {
      const f = flags(c);
      if (conv.kind === 'read') {
        assert.ok(f.includes('--json'), `${path} reads: --json (${f.join(' ')})`);
        assert.ok(!f.includes('--dry-run') && !f.some((x) => x.includes('--yes')), 'a read changes nothing');
      }
      if (conv.kind === 'change') {
        if (!conv.noDryRun) assert.ok(f.includes('--dry-run'), `${path} changes: --dry-run (${f.join(' ')})`);
        else assert.ok(!f.includes('--dry-run'), `${path}: noDryRun but it has one`);
      }
      if (conv.asks) assert.ok(f.includes('-y, --yes'), `${path} asks: -y, --yes (${f.join(' ')})`);
      else assert.ok(!f.some((x) => x.includes('--yes')), `${path} asks nothing, so no --yes`);
      if (conv.kind === 'server') assert.ok(!f.includes('--json') && !f.includes('--dry-run'));

      assert.ok(c.description().length > 10, `${path} has a description`);
      const help = helpOf(c);
      assert.match(help, /\nExamples?:\n/, `${path}: --help has examples`);
      const examples = help.slice(help.search(/\nExamples?:\n/));
      assert.ok(examples.includes(`  odp ${path}`), `${path}: an example runs odp ${path}\n${examples}`);
    });
  }
});

test('every group command has a description', () => {
  const groups = (c: Command): Command[] =>
    c.commands.flatMap((s) => (s.commands.length ? [s, ...groups(s)] : []));
  for (const g of groups(program)) assert.ok(g.description(), commandPath(g));
});

test('every error code has an exit code, and every exit code a meaning', () => {
  for (const [code, exit] of Object.entries(EXIT_FOR_ERROR)) assert.ok(exit in ExitCode, code);
  assert.deepEqual(Object.keys(EXIT_MEANINGS).sort(), Object.keys(ExitCode).sort());
  const values = Object.values(ExitCode);
  assert.equal(new Set(values).size, values.length, 'one number per exit code');
  // The two pairs: one kind, one code.
  assert.equal(EXIT_FOR_ERROR.NOT_FOUND, EXIT_FOR_ERROR.SPEC_NOT_FOUND);
  assert.equal(EXIT_FOR_ERROR.ALREADY_EXISTS, EXIT_FOR_ERROR.CONFLICT);
});

test(`${CONVENTIONS_DOC} is current (npm run docs:cli rewrites it)`, () => {
  const file = fileURLToPath(new URL(`../../${CONVENTIONS_DOC}`, import.meta.url));
  assert.equal(readFileSync(file, 'utf8'), conventionsMarkdown(program));
});

test(`${TROUBLESHOOTING_DOC} has the exit codes of the table, and a section for each`, () => {
  const page = readFileSync(fileURLToPath(new URL(`../../${TROUBLESHOOTING_DOC}`, import.meta.url)), 'utf8');
  assert.equal(page, troubleshootingMarkdown(page), 'its table is stale: npm run docs:cli');
  const missing = Object.entries(ExitCode)
    .filter(([name, code]) => code !== 0 && !page.includes(`\n## Exit ${code} (${name})\n`))
    .map(([name, code]) => `## Exit ${code} (${name})`);
  assert.deepEqual(missing, [], 'exit codes without a section saying what to do');
});
