// A newcomer's first hour (issue 17) on a real engine, following only what odp
// prints: `init`, then the `next:` line of each command, filling in what a
// `to fill in:` line names, until the test instance runs; then `status` and
// `logs`. The one choice the user makes is the project's name and its image
// (the one their CI pushes: here the sample project's, built by the test).
//
// With ODP_FIRST_HOUR_TRANSCRIPT=FILE the path is written to FILE as a
// transcript (`npm run docs:first-hour` refreshes docs/first-hour.md).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildSampleImage, removeProject, runCli, setUp, tempDir, type CliResult } from './helpers.js';

const PROJECT = 'firsthour';
const IMAGE = 'odp-e2e/firsthour_odoo';
let home = '';
let platform = '';
const transcript: string[] = [];

before(async () => {
  await setUp();
  await buildSampleImage(`${IMAGE}:latest`, '1.0.0');
  home = await tempDir('odp-first-hour-');
});

after(async () => {
  if (platform) await removeProject(PROJECT, IMAGE, platform);
  const file = process.env.ODP_FIRST_HOUR_TRANSCRIPT;
  if (file) writeFileSync(file, page(transcript));
});

/** `odp ARGS`, recorded as typed (progress on stderr, then the result), the user's home shown as `~`. */
async function odp(args: string[]): Promise<CliResult> {
  const r = await runCli(args);
  const shown = (s: string) => s.replaceAll(home, '~');
  const typed = args.map((a) => (/^[\w./@:=+-]+$/.test(a) ? a : `"${a}"`)).join(' ');
  transcript.push(
    `$ odp ${shown(typed)}`,
    ...[r.stderr, r.stdout].filter(Boolean).map((s) => shown(s.trimEnd())),
  );
  if (r.code !== 0) transcript.push(`(exit ${r.code})`);
  return r;
}

/** The command of the `next:` line, as words after `odp`, without its explanation. */
function next(r: CliResult): string[] {
  const line = /^next: odp (.+)$/m.exec(r.stdout)?.[1];
  assert.ok(line, `no next step:\n${r.stdout}\n${r.stderr}`);
  return line
    .replace(/\s{3}\(.*\)$/, '')
    .match(/"[^"]*"|'[^']*'|\S+/g)!
    .map((w) => w.replace(/^["']|["']$/g, ''));
}

test('the first hour: init, project new, what it says to fill in, check, deploy test, status, logs', async () => {
  const dir = path.join(home, 'firsthour-platform');
  const init = await odp(['init', dir]);
  assert.equal(init.code, 0, init.stderr);
  platform = path.basename(dir);
  // The user names the project; everything else on the line is odp's.
  const create = next(init).map((w) => (w === 'NAME' ? PROJECT : w));
  assert.deepEqual(create.slice(-7, -4), ['project', 'new', PROJECT], create.join(' '));
  const made = await odp(create);
  assert.equal(made.code, 0, made.stderr);

  // What odp could not know: the image. The user does what the line says, at the place it names.
  const fill = /^to fill in:\n {2}.*: edit (\S+):(\d+) \(image:\)/m.exec(made.stdout);
  assert.ok(fill, made.stdout);
  const file = path.resolve(fill[1]!);
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.match(lines[Number(fill[2]) - 1]!, /^image: /);
  lines[Number(fill[2]) - 1] = `image: ${IMAGE}`;
  writeFileSync(file, lines.join('\n'));
  transcript.push(`(edited ~/${path.relative(home, file)}:${fill[2]}: image: ${IMAGE})`);

  const check = await odp(next(made));
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /^ok: /m);
  const deploy = next(check);
  assert.deepEqual(deploy.slice(-3), ['deploy', PROJECT, 'test']);
  const deployed = await odp(deploy);
  assert.equal(deployed.code, 0, deployed.stderr);
  const local = /local: (http:\/\/\S+)/.exec(deployed.stdout)?.[1];
  assert.ok(local, deployed.stdout);
  const health = await fetch(new URL('/web/health', local));
  assert.equal(health.status, 200);

  const status = await odp(['--dir', dir, 'status', PROJECT]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^ {2}odoo-1 +running +healthy/m);
  const logs = await odp(['--dir', dir, 'logs', PROJECT, 'test', '--tail', '5']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.ok(logs.stdout.trim().split('\n').length > 0, 'the odoo unit logged');
});

/** The transcript as a docs page. */
function page(lines: string[]): string {
  return [
    "# A newcomer's first hour, as odp prints it",
    '',
    'Written by `npm run docs:first-hour`, which runs `test/e2e/first-hour.test.ts` on the local',
    'Docker engine: each command is the `next:` line of the one before, with the project name',
    'and the image filled in where odp asks for them. Names, ports and times differ on each run.',
    '',
    '```console',
    ...lines,
    '```',
    '',
  ].join('\n');
}
