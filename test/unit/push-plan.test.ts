// `odp images push`'s plan (docs/decisions/0070): every image the platform
// runs, once, with where it goes in the registry; names pick some.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OdpError } from '../../src/errors.js';
import { pushPlan } from '../../src/images/push-plan.js';
import { input, otherProject, project } from '../helpers/specs.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('the push plan', () => {
  const withRegistry = (embedded = false) =>
    input({
      platform: (d) => {
        d.registry = { url: 'registry.example.com:5000' };
        d.services.storage.embedded = embedded;
      },
    }).platform;

  test("the platform's images, then each project's image at the tags its instances deploy, once each", () => {
    const plan = pushPlan(withRegistry(), [project().spec, otherProject().spec]);
    assert.deepEqual(
      plan.map((t) => [t.image, t.target, t.usedBy.join(', '), t.project]),
      [
        ['odp/postgres:15', 'registry.example.com:5000/odp/postgres:15', 'platform postgres', false],
        ['odp/redis:7', 'registry.example.com:5000/odp/redis:7', 'platform redis', false],
        ['odp/nginx:1.22', 'registry.example.com:5000/odp/nginx:1.22', 'platform nginx', false],
        ['odp/haproxy:2.6', 'registry.example.com:5000/odp/haproxy:2.6', 'platform haproxy', false],
        [
          'camptocamp/neomedical_odoo:latest',
          'registry.example.com:5000/camptocamp/neomedical_odoo:latest',
          'neomedical/test, acme/test',
          true,
        ],
        [
          'camptocamp/neomedical_odoo:10.0.0',
          'registry.example.com:5000/camptocamp/neomedical_odoo:10.0.0',
          'neomedical/integration, neomedical/prod, acme/integration, acme/prod',
          true,
        ],
      ],
    );
  });

  test('the embedded S3 server only when the platform runs it', () => {
    assert.ok(!pushPlan(withRegistry(false), []).some((t) => t.usedBy.includes('platform s3')));
    assert.deepEqual(
      pushPlan(withRegistry(true), [], ['s3']).map((t) => t.target),
      ['registry.example.com:5000/odp/s3rver:3'],
    );
  });

  test('names pick images: a platform key, a project, a reference; an unknown one is refused', () => {
    const plan = (only: string[]) => pushPlan(withRegistry(), [project().spec], only).map((t) => t.image);
    assert.deepEqual(plan(['redis', 'nginx']), ['odp/redis:7', 'odp/nginx:1.22']);
    assert.deepEqual(plan(['neomedical']), [
      'camptocamp/neomedical_odoo:latest',
      'camptocamp/neomedical_odoo:10.0.0',
    ]);
    assert.deepEqual(plan(['odp/haproxy:2.6']), ['odp/haproxy:2.6']);
    assert.throws(
      () => plan(['mysql']),
      (e: OdpError) => e.code === 'NOT_FOUND' && /mysql/.test(e.message),
    );
  });

  test('no registry: a usage error saying what to add', () => {
    assert.throws(
      () => pushPlan(input().platform, []),
      (e: OdpError) => e.code === 'USAGE' && /registry: \{ url/.test(e.hint ?? ''),
    );
  });

  test('an image pinned by digest alone cannot be tagged for a push', () => {
    const platform = input({
      platform: (d) => {
        d.registry = { url: 'registry.example.com:5000' };
        d.images.redis = `odp/redis@${DIGEST}`;
      },
    }).platform;
    assert.throws(
      () => pushPlan(platform, [], ['redis']),
      (e: OdpError) => e.code === 'USAGE',
    );
  });
});
