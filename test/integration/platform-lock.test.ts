// The platform lock between real processes (docs/decisions/0060): operations on
// instances hold it shared and run at once; a change of the shared services holds
// it exclusive, waits for them, and is not starved by the ones that come while it
// waits; a holder killed with SIGKILL blocks nobody. Each holder is a node process
// (test/helpers/lock-holder.ts) that reports on stdout when it holds the lock.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOdpError } from '../../src/errors.js';
import { withInstanceLock } from '../../src/state/lock.js';
import { withPlatformLock } from '../../src/state/platform-lock.js';

const helper = fileURLToPath(new URL('../helpers/lock-holder.ts', import.meta.url));
let dir = '';

before(async () => {
  delete process.env.ODP_STATE_DIR;
  dir = await mkdtemp(join(tmpdir(), 'odp-platform-lock-'));
});
after(() => rm(dir, { recursive: true, force: true }));

interface Holder {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the time of the first line starting with `word`. */
  when(word: string): Promise<number>;
  exit: Promise<number | null>;
}

function hold(lock: string, holdMs: number, wait = true): Holder {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', helper, JSON.stringify({ dir, lock, holdMs, wait })],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const when = (word: string) =>
    new Promise<number>((resolve, reject) => {
      const look = () => {
        const l = lines.find((x) => x.startsWith(`${word} `));
        if (l)
          return resolve(word === 'acquired' || word === 'released' ? Number(l.split(' ')[1]) : Date.now());
        waiters.push(look);
      };
      void exit.then(() => {
        if (!lines.some((x) => x.startsWith(`${word} `)))
          reject(new Error(`${lock} ended without "${word}": ${lines.join(' | ')}`));
      });
      look();
    });
  return { child, lines, when, exit };
}

describe('between processes', () => {
  test('two operations on instances run at once', async () => {
    const a = hold('instance:p-test', 2500);
    const b = hold('instance:p-prod', 2500);
    const [aIn, bIn] = await Promise.all([a.when('acquired'), b.when('acquired')]);
    const [aOut, bOut] = await Promise.all([a.when('released'), b.when('released')]);
    assert.ok(Math.max(aIn, bIn) < Math.min(aOut, bOut), 'both held the platform lock at the same time');
    assert.deepEqual(await Promise.all([a.exit, b.exit]), [0, 0]);
  });

  test('platform down waits for a running deploy; a deploy that comes meanwhile waits for platform down', async () => {
    // Holds long enough for the next process to start (a second or two on a busy machine).
    const deploy = hold('instance:p-test', 8000);
    const deployIn = await deploy.when('acquired');
    const down = hold('exclusive', 4000);
    await down.when('waiting');
    assert.match(
      down.lines.find((l) => l.startsWith('waiting'))!,
      new RegExp(`pid ${deploy.child.pid} .*instance:p-test`),
    );
    const later = hold('instance:p-prod', 100);
    await later.when('waiting');
    const downIn = await down.when('acquired');
    const deployOut = await deploy.when('released');
    assert.ok(
      deployIn < deployOut && deployOut <= downIn,
      'platform down ran only once the deploy had ended',
    );
    const laterIn = await later.when('acquired');
    assert.ok(
      (await down.when('released')) <= laterIn,
      'the later deploy waited for platform down: no starvation',
    );
    assert.deepEqual(await Promise.all([deploy.exit, down.exit, later.exit]), [0, 0, 0]);
  });

  test('without waiting, a busy platform lock is BUSY at once and leaves nothing behind', async () => {
    const deploy = hold('instance:p-test', 8000);
    await deploy.when('acquired');
    const down = hold('exclusive', 0, false);
    assert.equal(await down.exit, 6);
    assert.match(down.lines.join('\n'), /busy the shared services are in use by pid \d+/);
    // The refused writer did not stay in the way of new readers.
    const other = hold('shared', 0);
    const otherIn = await other.when('acquired');
    assert.ok(otherIn < (await deploy.when('released')), 'a reader entered while the deploy still ran');
    await Promise.all([deploy.exit, other.exit]);
  });

  test('a holder killed with SIGKILL blocks nobody', async () => {
    const writer = hold('exclusive', 600_000);
    await writer.when('acquired');
    writer.child.kill('SIGKILL');
    await writer.exit;
    const t0 = Date.now();
    const deploy = hold('instance:p-test', 600_000);
    await deploy.when('acquired');
    assert.ok(Date.now() - t0 < 15_000, 'the dead writer was dropped at once');
    // And a dead reader: platform up takes the lock once it is killed.
    const up = hold('exclusive', 0);
    await up.when('waiting');
    deploy.child.kill('SIGKILL');
    await up.when('acquired');
    assert.equal(await up.exit, 0);
  });
});

describe('within one process', () => {
  test('a lock the calling operation holds is held for what it calls', async () => {
    const inner = await withPlatformLock(dir, 'exclusive', { wait: false }, () =>
      withInstanceLock(dir, 'q-test', { wait: false }, () =>
        withInstanceLock(dir, 'q-test', { wait: false }, async () => 'ran'),
      ),
    );
    assert.equal(inner, 'ran');
  });

  test('an instance operation cannot take the platform lock exclusive: it would wait for itself', async () => {
    await assert.rejects(
      withInstanceLock(dir, 'q-prod', { wait: false }, () =>
        withPlatformLock(dir, 'exclusive', { wait: false }, async () => undefined),
      ),
      (e) => isOdpError(e) && e.code === 'INTERNAL' && /cannot change the shared services/.test(e.message),
    );
  });
});
