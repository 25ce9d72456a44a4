// A process that takes one lock of a platform, holds it for a while and says so
// on stdout (`acquired <ms>`, `waiting <holder>`, `released <ms>`, `busy <message>`):
// the other side of the lock tests (test/integration/platform-lock.test.ts).
// argv[2]: { dir, lock: 'shared' | 'exclusive' | 'instance:<key>', holdMs, wait? }
import { withInstanceLock } from '../../src/state/lock.js';
import { withPlatformLock } from '../../src/state/platform-lock.js';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  dir: string;
  lock: string;
  holdMs: number;
  wait?: boolean;
};
const say = (line: string) => process.stdout.write(`${line}\n`);
const opts = { wait: o.wait ?? true, onWait: (h: string) => say(`waiting ${h}`), what: `holder ${o.lock}` };
const body = async () => {
  say(`acquired ${Date.now()}`);
  await new Promise((r) => setTimeout(r, o.holdMs));
  say(`released ${Date.now()}`);
};
try {
  if (o.lock.startsWith('instance:')) await withInstanceLock(o.dir, o.lock.slice(9), opts, body);
  else await withPlatformLock(o.dir, o.lock === 'exclusive' ? 'exclusive' : 'shared', opts, body);
} catch (e) {
  say(`busy ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 6;
}
