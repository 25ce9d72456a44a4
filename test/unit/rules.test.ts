import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Secret } from '../../src/secret.js';
import { rules, runRules, violationsOf } from '../../src/platform-spec/rules/index.js';
import { forbiddenTokens } from '../../src/platform-spec/rules/naming.js';
import type { Rule, RuleInput } from '../../src/platform-spec/rules/types.js';
import { input, otherProject, project } from '../helpers/specs.js';

function violations(ruleId: string, i: RuleInput) {
  const rule = rules.find((r) => r.id === ruleId) as Rule;
  assert.ok(rule, `rule ${ruleId} exists`);
  return rule.check(i);
}

test('the example platform passes every rule', () => {
  assert.deepEqual(runRules(input({ projects: [project(), otherProject()] })), []);
});

describe('db-name-hides-customer', () => {
  test('a random name passes', () => assert.deepEqual(violations('db-name-hides-customer', input()), []));
  test("the customer's name fails, with the line of the field", () => {
    const v = violations(
      'db-name-hides-customer',
      input({ projects: [project((d) => (d.instances.prod.database = 'neomedical_prod'))] }),
    );
    // prod's database and role, and integration's (derived from prod's)
    assert.equal(v.length, 4);
    assert.match(v[0]!.message, /contains "neomedical"/);
    assert.equal(v[0]!.location?.file, 'projects/neomedical.yaml');
    assert.ok((v[0]!.location?.line ?? 0) > 1);
  });
  test('separators and case do not hide the name', () => {
    const p = project((d) => {
      d.client = 'Blue Whale Logistics';
      d.instances.prod.database = 'x_blue_whale_9';
    });
    const v = violations('db-name-hides-customer', input({ projects: [p] }));
    assert.ok(v.some((x) => /bluewhale|blue|whale/.test(x.message)));
  });
  test("a test instance's own database is not on the cluster: the project name is fine there", () => {
    const v = violations(
      'db-name-hides-customer',
      input({ projects: [project((d) => (d.instances.test.database = 'neomedical_test'))] }),
    );
    assert.deepEqual(v, []);
  });
  test('tokens: full names, distinctive words of 3+ letters, the project', () => {
    assert.deepEqual(forbiddenTokens('Neo-Medical SA', 'nm'), [
      'neomedicalsa',
      'neomedical',
      'neo',
      'medical',
    ]);
    assert.deepEqual(forbiddenTokens('Studio 54', 'studio'), ['studio54', 'studio']);
    assert.deepEqual(forbiddenTokens('ODB Services', 'odb'), ['odbservices', 'odb']);
  });
  // Issue 10: names from real stacks, matched as words, not as 3-letter fragments.
  const cases: [client: string, database: string, hit: string | undefined][] = [
    ['ODB Services', 'odoodb', undefined],
    ['ODB Services', 'odb_archive_12', 'odb'],
    ['ODB Services', 'services_group_7', undefined],
    ['Studio 54', 'calm_river_54', undefined],
    ['Studio 54', 'studio54_main', 'studio54'],
    ['Studio 54', 'x_studio_54', 'studio54'],
    ['Neomedical SA', 'mighty_penguin_1337', undefined],
    ['Neomedical SA', 'neomedical2019', 'neomedical'],
    ['Blue Whale Logistics', 'x_blue_whale_9', 'blue|whale'],
    ['Zürich Bäckerei AG', 'zurich_42', 'zurich'],
    ['The Art Company', 'smart_otter_3', undefined],
  ];
  for (const [client, database, hit] of cases) {
    test(`${client} / ${database}: ${hit ? `hit by "${hit}"` : 'fine'}`, () => {
      const v = violations(
        'db-name-hides-customer',
        input({
          projects: [
            project((d) => {
              d.client = client;
              d.name = 'proj';
              d.instances.prod.database = database;
            }, 'projects/proj.yaml'),
          ],
        }),
      );
      if (!hit) return assert.deepEqual(v, []);
      assert.ok(v.length > 0);
      assert.match(v[0]!.message, new RegExp(`contains "(${hit})"`));
    });
  }
});

describe('db-name-unique', () => {
  test('distinct names pass', () =>
    assert.deepEqual(violations('db-name-unique', input({ projects: [project(), otherProject()] })), []));
  test('two prods on one database fail', () => {
    const v = violations(
      'db-name-unique',
      input({
        projects: [project(), otherProject((d) => (d.instances.prod.database = 'mighty_penguin_1337'))],
      }),
    );
    assert.ok(v.some((x) => x.path === 'instances.prod.database'));
  });
});

describe('redis-prefix-shape', () => {
  test('<project>-odoo-<env> passes', () => assert.deepEqual(violations('redis-prefix-shape', input()), []));
  test('an env override with the wrong shape fails', () => {
    const v = violations(
      'redis-prefix-shape',
      input({
        projects: [project((d) => (d.instances.prod.env = { ODOO_SESSION_REDIS_PREFIX: 'Neo_Prod' }))],
      }),
    );
    assert.equal(v.length, 1);
    assert.match(v[0]!.message, /Neo_Prod/);
  });
  test('a redisPrefix field with the wrong shape fails', () => {
    const v = violations(
      'redis-prefix-shape',
      input({ projects: [project((d) => (d.instances.integration.redisPrefix = 'sessions'))] }),
    );
    assert.equal(v.length, 1);
  });
});

describe('prod-bucket-only-prod', () => {
  test('the conventions pass', () => assert.deepEqual(violations('prod-bucket-only-prod', input()), []));
  test('integration on the prod bucket fails', () => {
    const v = violations(
      'prod-bucket-only-prod',
      input({ projects: [project((d) => (d.instances.integration.bucket = 'neomedical-odoo-prod'))] }),
    );
    assert.ok(v.some((x) => /integration uses "neomedical-odoo-prod", a production bucket/.test(x.message)));
    assert.ok(v.some((x) => /also used by/.test(x.message)));
  });
  test('prod on a bucket not ending in -odoo-prod fails', () => {
    const v = violations(
      'prod-bucket-only-prod',
      input({ projects: [project((d) => (d.instances.prod.bucket = 'neomedical-files'))] }),
    );
    assert.equal(v.length, 1);
  });
});

describe('cloud-storage', () => {
  test('defaults pass', () => assert.deepEqual(violations('cloud-storage', input()), []));
  for (const [k, val] of [
    ['ODOO_SESSION_REDIS', '0'],
    ['AWS_BUCKETNAME', ''],
    ['DISABLE_ATTACHMENT_STORAGE', '1'],
    ['ODOO_CLOUD_PLATFORM_UNSAFE', '1'],
  ]) {
    test(`prod with ${k}=${val} fails`, () => {
      const v = violations(
        'cloud-storage',
        input({ projects: [project((d) => (d.instances.prod.env = { [k!]: val }))] }),
      );
      assert.equal(v.length, 1);
      assert.match(v[0]!.message, /^prod: /);
    });
  }
  test('test may keep attachments in its database', () => {
    assert.deepEqual(
      violations(
        'cloud-storage',
        input({ projects: [project((d) => (d.instances.test.env = { ODOO_SESSION_REDIS: '0' }))] }),
      ),
      [],
    );
  });
});

describe('pinned-version', () => {
  test('X.Y.Z passes', () => assert.deepEqual(violations('pinned-version', input()), []));
  test('latest on prod fails at the version line', () => {
    const v = violations(
      'pinned-version',
      input({ projects: [project((d) => (d.instances.prod.version = 'latest'))] }),
    );
    assert.equal(v.length, 1);
    assert.equal(v[0]!.path, 'instances.prod.version');
  });
});

describe('domain-unique', () => {
  test('distinct domains pass', () =>
    assert.deepEqual(violations('domain-unique', input({ projects: [project(), otherProject()] })), []));
  test('a domain used twice fails', () => {
    const v = violations(
      'domain-unique',
      input({
        projects: [project(), otherProject((d) => (d.instances.prod.domain = 'neomedical.odoo.example.ch'))],
      }),
    );
    assert.equal(v.length, 1);
    assert.match(v[0]!.message, /also used by neomedical\/prod/);
  });
});

describe('plan-exists', () => {
  test('declared plans pass', () => assert.deepEqual(violations('plan-exists', input()), []));
  test('an unknown project plan fails', () => {
    const v = violations('plan-exists', input({ projects: [project((d) => (d.plan = 'gold'))] }));
    assert.equal(v.length, 1);
    assert.match(v[0]!.message, /plan "gold" is not declared/);
  });
  test('an unknown testPlan fails', () => {
    assert.equal(violations('plan-exists', input({ platform: (d) => (d.testPlan = 'tiny') })).length, 1);
  });
});

describe('host-exists', () => {
  test('declared hosts pass', () => assert.deepEqual(violations('host-exists', input()), []));
  test('an undeclared edge host fails', () => {
    const v = violations(
      'host-exists',
      input({ platform: (d) => (d.services.edge.hosts = ['app1', 'app9']) }),
    );
    assert.equal(v.length, 1);
    assert.equal(v[0]!.path, 'services.edge.hosts.1');
  });
});

describe('label-has-host', () => {
  test('labelled hosts pass', () => assert.deepEqual(violations('label-has-host', input()), []));
  test('no production host fails', () => {
    const v = violations(
      'label-has-host',
      input({
        platform: (d) => {
          for (const h of Object.values(d.hosts) as { labels: string[] }[])
            h.labels = h.labels.filter((l) => l !== 'production');
        },
      }),
    );
    assert.equal(v.length, 1);
  });
});

describe('replica-other-datacentre', () => {
  test('replica in dc2 passes', () => assert.deepEqual(violations('replica-other-datacentre', input()), []));
  test('replica beside the primary fails', () => {
    assert.equal(
      violations('replica-other-datacentre', input({ platform: (d) => (d.hosts.db2.datacentre = 'dc1') }))
        .length,
      1,
    );
  });
});

describe('no-plaintext-secrets-in-git', () => {
  test('nothing tracked passes', () =>
    assert.deepEqual(violations('no-plaintext-secrets-in-git', input()), []));
  test('a tracked rancher.env fails', () => {
    const i = { ...input(), trackedPlaintextSecrets: ['stacks/rancher.env'] };
    assert.equal(violations('no-plaintext-secrets-in-git', i)[0]?.location?.file, 'stacks/rancher.env');
  });
});

describe('secrets-present', () => {
  const all = (keys: string[]) => new Map(keys.map((k) => [k, new Secret('x')]));
  const complete = all(['DB_PASSWORD', 'ADMIN_PASSWD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  test('complete secrets pass', () => {
    assert.deepEqual(
      violations('secrets-present', { ...input(), secrets: new Map([['neomedical', complete]]) }),
      [],
    );
  });
  test('a missing prod password fails', () => {
    const some = all([
      'DB_PASSWORD',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'TEST__ADMIN_PASSWD',
      'INTEGRATION__ADMIN_PASSWD',
    ]);
    const v = violations('secrets-present', { ...input(), secrets: new Map([['neomedical', some]]) });
    assert.equal(v.length, 1);
    assert.match(v[0]!.message, /prod needs ADMIN_PASSWD/);
  });
});

describe('violationsOf: one project judged against every project that loads', () => {
  const shared = () => otherProject((d) => (d.instances.prod.domain = 'neomedical.odoo.example.ch'));
  test('a domain it shares with another project is its violation, whichever came first', () => {
    for (const name of ['neomedical', 'acme']) {
      const v = violationsOf(input({ projects: [project(), shared()] }), name);
      assert.deepEqual(
        v.map((x) => [x.rule, x.location?.file]),
        [['domain-unique', `projects/${name}.yaml`]],
      );
    }
  });
  test("another project's own violations are not its", () => {
    const unpinned = otherProject((d) => (d.instances.prod.version = 'latest'));
    assert.deepEqual(violationsOf(input({ projects: [project(), unpinned] }), 'neomedical'), []);
    assert.equal(violationsOf(input({ projects: [project(), unpinned] }), 'acme').length, 1);
  });
});
