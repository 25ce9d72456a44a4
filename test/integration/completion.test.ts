// `odp completion bash|zsh` (issue 17), run by the real shells: the generated
// function is called as bash's `complete -F` calls it, and as zsh's bashcompinit
// does (COMP_WORDS a zsh array, COMP_CWORD counted from 0). Every command of the
// tree is offered under its parent; projects come from the platform directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Command } from 'commander';
import { completionScript, SHELLS } from '../../src/cli/completion.js';
import { buildProgram } from '../../src/cli/main.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const work = mkdtempSync(join(tmpdir(), 'odp-completion-'));
after(() => rmSync(work, { recursive: true, force: true }));
const platform = join(work, 'platform');
copyExamplePlatform(platform);
const program = buildProgram();

/** What the shell offers after each line's words (the last one is being typed). */
function complete(shell: string, lines: string[][]): string[][] {
  const script = join(work, `odp.${shell}`);
  writeFileSync(script, completionScript(program, shell as 'bash' | 'zsh'));
  const call =
    shell === 'zsh'
      ? 't() { local -a COMP_WORDS COMPREPLY; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _odp; print -r -- "${COMPREPLY[*]}"; }'
      : 't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _odp; echo "${COMPREPLY[*]}"; }';
  const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;
  const body = [`source ${quote(script)}`, call, ...lines.map((l) => `t odp ${l.map(quote).join(' ')}`)];
  const out = execFileSync(shell, ['-c', body.join('\n')], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  return out
    .split('\n')
    .slice(0, lines.length)
    .map((l) => l.split(' ').filter(Boolean));
}

const groups = (c: Command, path: string[] = []): [string[], string[]][] => [
  [path, c.commands.map((s) => s.name())],
  ...c.commands.filter((s) => s.commands.length).flatMap((s) => groups(s, [...path, s.name()])),
];

for (const shell of SHELLS) {
  describe(`odp completion ${shell}`, () => {
    test('the script parses', () => {
      const file = join(work, `syntax.${shell}`);
      writeFileSync(file, completionScript(program, shell));
      execFileSync(shell, ['-n', file]);
    });

    test('commands, options, projects and instances', () => {
      const [sec, deploy, instance, option, limit] = complete(shell, [
        ['sec'],
        ['-C', platform, 'deploy', ''],
        ['-C', platform, 'deploy', 'neomedical', ''],
        ['deploy', 'neomedical', 'test', '--dry'],
        ['history', 'neomedical', 'prod', '--limit', '5', '--st'],
      ]);
      assert.deepEqual(sec, ['secrets']);
      assert.deepEqual(deploy, ['neomedical']);
      assert.deepEqual(instance, ['test', 'integration', 'prod']);
      assert.deepEqual(option, ['--dry-run']);
      assert.deepEqual(limit, ['--steps'], 'an option value is no argument');
    });

    test('every command is offered under its parent', () => {
      const all = groups(program);
      const offered = complete(
        shell,
        all.map(([path]) => [...path, '']),
      );
      all.forEach(([path, names], i) => {
        for (const n of names) assert.ok(offered[i]!.includes(n), `odp ${path.join(' ')} ${n}`);
      });
    });
  });
}
