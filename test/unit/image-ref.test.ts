// Where an image lives in the platform's registry (docs/decisions/0070): image
// references read as Docker reads them, `registry.url` checked, and the
// references a push and a swarm's pinned service use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseImageRef,
  parseRegistryUrl,
  pinnedRef,
  registryRef,
  registryRepository,
  splitTag,
} from '../../src/model/image-ref.js';
import { OdpError } from '../../src/errors.js';
import { input } from '../helpers/specs.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image references, as Docker reads them', () => {
  test('a first part is a registry only with a dot, a port or localhost', () => {
    assert.deepEqual(parseImageRef('odp/nginx:1.22'), { path: 'odp/nginx', tag: '1.22' });
    assert.deepEqual(parseImageRef('postgres'), { path: 'postgres' });
    assert.deepEqual(parseImageRef('ghcr.io/camptocamp/acme_odoo:1.2.3'), {
      domain: 'ghcr.io',
      path: 'camptocamp/acme_odoo',
      tag: '1.2.3',
    });
    assert.deepEqual(parseImageRef('registry:5000/odp/redis'), {
      domain: 'registry:5000',
      path: 'odp/redis',
    });
    assert.deepEqual(parseImageRef('localhost/x'), { domain: 'localhost', path: 'x' });
    assert.deepEqual(parseImageRef(`odp/redis:7@${DIGEST}`), { path: 'odp/redis', tag: '7', digest: DIGEST });
  });

  test('what Docker refuses is no reference', () => {
    for (const bad of ['Odp/nginx', 'odp//nginx', 'odp/nginx:', 'odp/nginx@sha256:12', ':7', 'a b', ''])
      assert.equal(parseImageRef(bad), undefined, bad);
  });

  test('a port is not a tag', () => {
    assert.deepEqual(splitTag('registry:5000/odp/redis:7'), {
      repository: 'registry:5000/odp/redis',
      tag: '7',
    });
    assert.deepEqual(splitTag('registry:5000/odp/redis'), {
      repository: 'registry:5000/odp/redis',
      tag: 'latest',
    });
  });
});

describe('registry.url', () => {
  test('HOST[:PORT][/PREFIX]', () => {
    assert.deepEqual(parseRegistryUrl('registry.example.com:5000'), { host: 'registry.example.com:5000' });
    assert.deepEqual(parseRegistryUrl('127.0.0.1:5000/odp/mirror'), {
      host: '127.0.0.1:5000',
      prefix: 'odp/mirror',
    });
    assert.deepEqual(parseRegistryUrl('Registry.Example.com'), { host: 'registry.example.com' });
    assert.deepEqual(parseRegistryUrl('localhost'), { host: 'localhost' });
  });

  test('refused, each with why', () => {
    assert.match(parseRegistryUrl('https://registry.example.com') as string, /no scheme/);
    assert.match(parseRegistryUrl('registry.example.com:99999') as string, /port 99999/);
    assert.match(parseRegistryUrl('registry') as string, /Docker Hub namespace/);
    assert.match(parseRegistryUrl('registry.example.com/Odp') as string, /HOST\[:PORT\]/);
    assert.match(parseRegistryUrl('registry.example.com/') as string, /HOST\[:PORT\]/);
  });

  test('the spec refuses a bad url at its line', () => {
    assert.throws(
      () => input({ platform: (d) => (d.registry = { url: 'registry' }) }),
      (e: OdpError) => e.problems.some((p) => p.path === 'registry.url' && /namespace/.test(p.message)),
    );
    assert.deepEqual(input({ platform: (d) => (d.registry = { url: 'r.example.com' }) }).platform.registry, {
      url: 'r.example.com',
    });
  });
});

describe('references in the registry', () => {
  test("the image's own registry host is dropped, a prefix is kept", () => {
    assert.equal(registryRef('registry:5000', 'odp/nginx:1.22'), 'registry:5000/odp/nginx:1.22');
    assert.equal(registryRef('registry:5000', 'postgres'), 'registry:5000/postgres:latest');
    assert.equal(
      registryRef('r.example.com/mirror', 'ghcr.io/camptocamp/acme_odoo:1.2.3'),
      'r.example.com/mirror/camptocamp/acme_odoo:1.2.3',
    );
  });

  test('an image already in the registry keeps its place', () => {
    assert.equal(
      registryRepository('r.example.com:5000', 'r.example.com:5000/acme/odoo:1'),
      'r.example.com:5000/acme/odoo',
    );
    assert.equal(
      registryRepository('r.example.com/p', 'r.example.com/p/acme/odoo'),
      'r.example.com/p/acme/odoo',
    );
    assert.equal(
      registryRepository('r.example.com/p', 'r.example.com/acme/odoo'),
      'r.example.com/p/acme/odoo',
    );
  });

  test('a service pins the repository at a digest, never a tag', () => {
    assert.equal(pinnedRef('registry:5000', 'odp/redis:7', DIGEST), `registry:5000/odp/redis@${DIGEST}`);
    assert.equal(
      pinnedRef('registry:5000', `odp/redis:7@${DIGEST}`, DIGEST),
      `registry:5000/odp/redis@${DIGEST}`,
    );
    assert.throws(() => pinnedRef('registry:5000', 'odp/redis:7', 'latest'), /not a sha256 digest/);
  });
});
