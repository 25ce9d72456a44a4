// Read commands create nothing (issue 17: `odp jobs` outside a platform created
// ./.odp-state/state.sqlite and said "0 queued"). Every read command of the
// conventions table runs in an empty directory: it says there is no platform
// and exits not found (schema, which needs none, just prints), and the
// directory stays empty. On a platform that has done nothing yet, the reads
// that need no engine or bucket answer without creating the state database.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { COMMANDS } from '../../src/cli/conventions.js';
import { ExitCode } from '../../src/errors.js';
import { odpInProcess as odp } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';

/** A command line for each read command; the test fails when a read command has none. */
const READS: Record<string, string[]> = {
  schema: ['schema'],
  check: ['check'],
  render: ['render', 'neomedical', 'test'],
  status: ['status'],
  logs: ['logs', 'neomedical', 'test'],
  branches: ['branches', 'neomedical'],
  history: ['history', 'neomedical', 'test'],
  'platform secrets show': ['platform', 'secrets', 'show'],
  'platform secrets get': ['platform', 'secrets', 'get', 'WEBHOOK_SECRET'],
  'platform secrets recipients list': ['platform', 'secrets', 'recipients', 'list'],
  'platform status': ['platform', 'status'],
  // On a one-engine platform these say there is no cluster: still nothing created.
  'hosts status': ['hosts', 'status'],
  'hosts join-command': ['hosts', 'join-command'],
  'certs status': ['certs', 'status'],
  jobs: ['jobs'],
  schedule: ['schedule'],
  drills: ['drills', 'neomedical'],
  'secrets show': ['secrets', 'show', 'neomedical'],
  'secrets get': ['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'prod'],
  'secrets recipients list': ['secrets', 'recipients', 'list', 'neomedical'],
  backups: ['backups', 'neomedical', 'prod'],
  completion: ['completion', 'bash'],
};
/** Reads that reach the engine or the backups bucket: not run on the fresh platform here. */
const NEEDS_SERVICES = new Set(['status', 'logs', 'platform status', 'backups']);

let work = '';
const saved = { state: process.env.ODP_STATE_DIR, dir: process.env.ODP_DIR };

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-reads-'));
  delete process.env.ODP_STATE_DIR;
  delete process.env.ODP_DIR;
  process.env.ODP_PASSPHRASE = 'odp-demo';
});
after(() => {
  if (saved.state !== undefined) process.env.ODP_STATE_DIR = saved.state;
  if (saved.dir !== undefined) process.env.ODP_DIR = saved.dir;
  delete process.env.ODP_PASSPHRASE;
  rmSync(work, { recursive: true, force: true });
});

test('every read command of the conventions has a command line here', () => {
  const reads = Object.entries(COMMANDS)
    .filter(([, c]) => c.kind === 'read')
    .map(([p]) => p);
  assert.deepEqual(reads.filter((p) => !READS[p]).sort(), []);
});

test('outside a platform directory, each read says so, exits not found and creates nothing', async () => {
  for (const [path, args] of Object.entries(READS)) {
    const empty = join(work, `empty-${path.replace(/ /g, '-')}`);
    mkdirSync(empty);
    const r = await odp(['-C', empty, ...args]);
    if (COMMANDS[path]?.anywhere) assert.equal(r.code, 0, `${path}: ${r.stderr}`);
    else {
      assert.equal(r.code, ExitCode.notFound, `${path}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /no platform\.yaml in .*: not a platform directory/, path);
      assert.doesNotMatch(r.stdout, /queued/, path);
    }
    assert.deepEqual(readdirSync(empty), [], `${path} created nothing`);
  }
});

test('on a platform that has done nothing yet, reads do not create its state', async () => {
  const dir = join(work, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  for (const [path, args] of Object.entries(READS)) {
    if (NEEDS_SERVICES.has(path)) continue;
    await odp(['-C', dir, ...args]);
    assert.ok(!readdirSync(dir).includes('.odp-state'), `${path} created .odp-state`);
  }
  const jobs = await odp(['-C', dir, 'jobs', '--json']);
  assert.equal(jobs.code, 0, jobs.stderr);
  assert.deepEqual((JSON.parse(jobs.stdout) as { jobs: unknown[] }).jobs, []);
  const history = await odp(['-C', dir, 'history', 'neomedical', 'prod']);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /no operation recorded/);
  assert.ok(!readdirSync(dir).includes('.odp-state'));
});
