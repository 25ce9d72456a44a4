// Branch instances, the pure part: the slug rule (shared with `odp publish`),
// the names a branch instance gets, its stack next to the test instance's, the
// platform setting; and the state records that the edge and expiry read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BRANCH_SLUG_MAX,
  branchSlug,
  branchTag,
  branchTarget,
  isBranchTag,
} from '../../src/compose/branch.js';
import { composeStack } from '../../src/compose/stack.js';
import { serviceByRole, unitName } from '../../src/model/stack.js';
import { revealEnv, Secret } from '../../src/secret.js';
import { jsonSchema } from '../../src/platform-spec/json-schema.js';
import {
  branchRoutes,
  forgetBranch,
  getBranch,
  listBranches,
  recordBranchDeploy,
  slugOwner,
} from '../../src/state/branches.js';
import { openState } from '../../src/state/db.js';
import { input, project } from '../helpers/specs.js';

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const HASHED = /-[0-9a-f]{6}$/;

describe('branchSlug', () => {
  test('a name that is already a slug is its own slug', () => {
    for (const n of ['main', 'feature-login', 'fix-123', '42', 'a'.repeat(BRANCH_SLUG_MAX)])
      assert.equal(branchSlug(n), n);
  });

  test('other names are cleaned up and get a hash of the whole name', () => {
    const s = branchSlug('feature/Login_Page');
    assert.match(s, /^feature-login-page-[0-9a-f]{6}$/);
    assert.equal(branchSlug('feature/Login_Page'), s, 'the same name always gives the same slug');
  });

  test('names that clean up alike do not collide', () => {
    const names = ['feature/login', 'feature-login', 'Feature/Login', 'feature//login', 'feature.login'];
    const slugs = names.map(branchSlug);
    assert.equal(new Set(slugs).size, names.length, slugs.join(' '));
    assert.equal(slugs[1], 'feature-login');
  });

  test('long names are truncated to 40 characters, keeping them apart', () => {
    const base = 'feature/a-very-long-branch-name-about-the-customer-portal';
    const a = branchSlug(`${base}-part-one`);
    const b = branchSlug(`${base}-part-two`);
    for (const s of [a, b]) {
      assert.ok(s.length <= BRANCH_SLUG_MAX, s);
      assert.match(s, SLUG);
      assert.match(s, HASHED);
      assert.ok(s.startsWith('feature-a-very-long-branch-name'), s);
    }
    assert.notEqual(a, b);
    // A valid slug one character too long is truncated too.
    const long = 'b'.repeat(BRANCH_SLUG_MAX + 1);
    assert.equal(branchSlug(long).length, BRANCH_SLUG_MAX);
    assert.notEqual(branchSlug(long), 'b'.repeat(BRANCH_SLUG_MAX));
  });

  test('unicode: accents dropped, other scripts hashed', () => {
    assert.match(branchSlug('fix/café-Ümlaut'), /^fix-cafe-umlaut-[0-9a-f]{6}$/);
    const cjk = branchSlug('機能/ログイン');
    assert.match(cjk, /^[0-9a-f]{6}$/);
    assert.notEqual(cjk, branchSlug('機能/ログアウト'));
    assert.match(branchSlug('emoji-🚀-launch'), /^emoji-launch-[0-9a-f]{6}$/);
  });

  test('no leading, trailing or doubled dashes', () => {
    for (const n of ['-foo-', '--foo', 'foo--', 'foo--bar', '/foo/', '_x_', 'a-'.repeat(30)]) {
      const s = branchSlug(n);
      assert.match(s, SLUG, `${n} → ${s}`);
      assert.ok(s.length <= BRANCH_SLUG_MAX);
    }
    assert.match(branchSlug('-foo-'), /^foo-[0-9a-f]{6}$/);
  });

  test('an empty name is refused', () => {
    assert.throws(() => branchSlug(''), /cannot be empty/);
    assert.throws(() => branchSlug('  '), /cannot be empty/);
  });

  test('3,000 random names: always a slug, never longer than 40, no collision', () => {
    const alphabet = 'abcXYZ019-_/. éü漢🚀';
    const chars = [...alphabet];
    const seen = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const bytes = randomBytes(1 + (i % 60));
      const name = [...bytes].map((b) => chars[b % chars.length]).join('');
      if (!name.trim()) continue;
      const s = branchSlug(name);
      assert.match(s, SLUG, `${JSON.stringify(name)} → ${s}`);
      assert.ok(s.length <= BRANCH_SLUG_MAX, `${JSON.stringify(name)} → ${s}`);
      const other = seen.get(s);
      assert.ok(other === undefined || other === name, `${other} and ${name} → ${s}`);
      seen.set(s, name);
    }
  });
});

describe('branch image tags', () => {
  test('publish tags a branch build <slug>-<short sha>', () => {
    assert.equal(branchTag('feature-x', 'abc1234def5678'), 'feature-x-abc1234');
    assert.match(branchTag('feature/X', 'abcdef0123'), /^feature-x-[0-9a-f]{6}-abcdef0$/);
    assert.throws(() => branchTag('x', 'not-a-sha'), /not a commit sha/);
  });
  test("only the branch's own tags match, not another branch's starting alike", () => {
    assert.ok(isBranchTag('foo', 'foo-abc1234'));
    assert.ok(isBranchTag('foo', `foo-${'a'.repeat(40)}`));
    assert.ok(!isBranchTag('foo', 'foo-bar-abc1234'), "branch foo-bar's tag");
    assert.ok(!isBranchTag('foo', 'foo-abc12'), 'too short for a sha');
    assert.ok(!isBranchTag('foo', 'foo'));
    assert.ok(!isBranchTag('foo', 'latest'));
    assert.ok(!isBranchTag('foo', 'foobar-abc1234'));
  });
});

describe('branchTarget and the stack', () => {
  const secrets = new Map([
    ['DB_PASSWORD', new Secret('pw')],
    ['ADMIN_PASSWD', new Secret('admin')],
  ]);

  test('its own stack, domain, database, Redis prefix and labels', () => {
    const p = project().spec;
    const t = branchTarget(p, 'feature/login');
    assert.equal(t.slug, branchSlug('feature/login'));
    assert.equal(t.stackName, `neomedical-odoo-test-${t.slug}`);
    assert.equal(t.domain, `${t.slug}.${p.instances.test!.domain}`);
    assert.equal(t.database, `odoodb_${t.slug.replace(/-/g, '_')}`);
    // cloud_platform's shape for the prefix: <client>-odoo-<env>.
    assert.match(t.redisPrefix, /^[a-z-0-9]+-odoo-[a-z-0-9]+$/);
    const { stack } = composeStack(input().platform, p, 'test', secrets, t);
    assert.equal(stack.name, t.stackName);
    assert.equal(stack.network, t.stackName);
    assert.deepEqual(stack.volumes, [`${t.stackName}-db`]);
    assert.equal(stack.domain, t.domain);
    for (const s of stack.services) {
      assert.equal(s.labels['odp.branch'], 'feature/login');
      assert.equal(s.labels['odp.instance'], `test@${t.slug}`);
    }
    const env = (k: string) => revealEnv(serviceByRole(stack, 'odoo')!.env.get(k)!);
    assert.equal(env('DB_NAME'), t.database);
    assert.equal(env('ODOO_BASE_URL'), `https://${t.domain}`);
    assert.equal(env('ODOO_SESSION_REDIS_PREFIX'), t.redisPrefix);
    assert.equal(env('RUNNING_ENV'), 'test');
  });

  test('the test instance itself is unchanged: no branch label, its own names', () => {
    const { stack } = composeStack(input().platform, project().spec, 'test', secrets);
    assert.equal(stack.name, 'neomedical-odoo-test');
    for (const s of stack.services) {
      assert.equal(s.labels['odp.branch'], undefined);
      assert.equal(s.labels['odp.instance'], 'test');
    }
  });

  test('unit names stay within 63 characters (container hostnames, edge DNS names)', () => {
    const p = project((d) => {
      d.name = 'a-forty-character-project-name-for-tests';
      d.instances.test.domain = 'test.a-forty-character-project-name-for-tests.odoo.example.ch';
    }).spec;
    const a = branchTarget(p, 'feature/a-long-branch-name-that-goes-on-and-on');
    const b = branchTarget(p, 'feature/a-long-branch-name-that-goes-on-and-on-2');
    for (const t of [a, b]) {
      assert.ok(unitName(t.stackName, 'nginx', 1).length <= 63, t.stackName);
      assert.ok(t.database.length <= 63, t.database);
      assert.match(t.database, /^[a-z_][a-z0-9_]*$/);
    }
    assert.notEqual(a.stackName, b.stackName);
  });

  test('a project without a test instance has no branch instances', () => {
    const p = project((d) => delete d.instances.test).spec;
    assert.throws(() => branchTarget(p, 'x'), /declares no test instance/);
  });

  test('platform setting: branches.expireAfterHours defaults to 72 and is in the JSON Schema', () => {
    assert.equal(input().platform.branches.expireAfterHours, 72);
    const props = (jsonSchema('platform') as { properties: Record<string, unknown> }).properties;
    assert.ok(props.branches, 'branches in the JSON Schema');
  });
});

describe('branch records in the state database', () => {
  let dir = '';
  const saved = process.env.ODP_STATE_DIR;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'odp-branch-state-'));
    process.env.ODP_STATE_DIR = join(dir, 'state');
  });
  after(() => {
    if (saved === undefined) delete process.env.ODP_STATE_DIR;
    else process.env.ODP_STATE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const row = (branch: string, tag = 'x-abc1234') => {
    const t = branchTarget(project().spec, branch);
    return { project: 'neomedical', branch, slug: t.slug, stack: t.stackName, domain: t.domain, tag };
  };

  test('reading routes never creates the database', () => {
    assert.deepEqual(branchRoutes(dir, ['neomedical']), []);
    assert.equal(existsSync(join(dir, 'state', 'state.sqlite')), false);
    assert.deepEqual(listBranches(dir), []);
    assert.equal(existsSync(join(dir, 'state', 'state.sqlite')), true);
  });

  test('created, then updated with the last deploy; routes for known projects only', () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    assert.equal(recordBranchDeploy(dir, row('feature/a'), t0), 'created');
    assert.equal(recordBranchDeploy(dir, row('feature/a', 'y-def5678'), new Date(+t0 + 3600_000)), 'updated');
    const got = getBranch(dir, 'neomedical', 'feature/a')!;
    assert.equal(got.tag, 'y-def5678');
    assert.equal(got.createdAt, t0.toISOString());
    assert.equal(got.lastDeployAt, new Date(+t0 + 3600_000).toISOString());
    assert.deepEqual(branchRoutes(dir, ['neomedical']), [{ domain: got.domain, stack: got.stack }]);
    assert.deepEqual(branchRoutes(dir, ['acme']), []);
    const db = openState(dir);
    const prefix = db.prepare('SELECT instance FROM redis_prefixes WHERE prefix = ?').get(got.stack) as
      { instance: string } | undefined;
    db.close();
    assert.equal(prefix?.instance, `test@${got.slug}`);
  });

  test('a slug already naming another branch is refused', () => {
    assert.equal(slugOwner(dir, 'neomedical', branchSlug('feature/a')), 'feature/a');
    const clash = { ...row('feature/b'), slug: branchSlug('feature/a') };
    assert.throws(() => recordBranchDeploy(dir, clash), /already names branch feature\/a/);
    assert.equal(getBranch(dir, 'neomedical', 'feature/b'), undefined);
  });

  test('forgotten: the row and its Redis prefix go; forgetting twice says so', () => {
    const stack = getBranch(dir, 'neomedical', 'feature/a')!.stack;
    assert.equal(forgetBranch(dir, 'neomedical', 'feature/a'), true);
    assert.equal(forgetBranch(dir, 'neomedical', 'feature/a'), false);
    assert.deepEqual(listBranches(dir), []);
    const db = openState(dir);
    assert.equal(db.prepare('SELECT 1 FROM redis_prefixes WHERE prefix = ?').get(stack), undefined);
    db.close();
  });
});
