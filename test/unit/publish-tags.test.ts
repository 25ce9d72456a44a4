// The tag rules of `odp publish`: which ref a build is, and what it pushes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { branchTag, isBranchTag } from '../../src/compose/branch.js';
import { Secret } from '../../src/secret.js';
import {
  checkImageName,
  checkRegistry,
  detectRef,
  hookUrl,
  imageLabels,
  notifyBody,
  publishTags,
  registryAuth,
  sourceUrl,
  type RefFacts,
} from '../../src/release/publish-tags.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const OTHER = 'fedcba9876543210fedcba9876543210fedcba98';
const facts = (f: Partial<RefFacts>): RefFacts => ({ sha: SHA, tagsAtHead: [], ...f });
const tagsFor = (f: Partial<RefFacts>, version = '10.1.0', mainBranch?: string) =>
  publishTags(detectRef(facts(f)), { sha: SHA, version, ...(mainBranch ? { mainBranch } : {}) });

describe('detectRef', () => {
  it('takes the checked-out branch from git, even with a tag at HEAD or CI variables', () => {
    assert.deepEqual(detectRef(facts({ branch: 'master', tagsAtHead: ['10.1.0'] })), {
      kind: 'branch',
      name: 'master',
      source: 'git',
    });
    assert.equal(
      detectRef(facts({ branch: 'feat', env: { GITHUB_REF: 'refs/tags/10.1.0', GITHUB_SHA: OTHER } })).name,
      'feat',
    );
  });

  it('on a detached HEAD, takes the one release tag at HEAD', () => {
    assert.deepEqual(detectRef(facts({ tagsAtHead: ['nightly', '10.1.0'] })), {
      kind: 'tag',
      name: '10.1.0',
      source: 'git',
    });
    assert.equal(detectRef(facts({ tagsAtHead: ['14.0.1.2.0'] })).name, '14.0.1.2.0');
  });

  it('on a detached HEAD, honours GITHUB_REF for branches, tags and pull requests', () => {
    const env = (GITHUB_REF: string, GITHUB_SHA = SHA) => facts({ env: { GITHUB_REF, GITHUB_SHA } });
    assert.deepEqual(detectRef(env('refs/heads/feature/x')), {
      kind: 'branch',
      name: 'feature/x',
      source: 'GITHUB_REF',
    });
    assert.deepEqual(detectRef(env('refs/tags/10.2.0')), {
      kind: 'tag',
      name: '10.2.0',
      source: 'GITHUB_REF',
    });
    assert.equal(detectRef(env('refs/pull/12/merge')).kind, 'pull');
    // GITHUB_REF wins over the tags git sees: it says what the job was started for.
    assert.equal(
      detectRef(facts({ tagsAtHead: ['10.1.0'], env: { GITHUB_REF: 'refs/heads/master' } })).kind,
      'branch',
    );
  });

  it('refuses what it cannot tell, saying why', () => {
    assert.throws(() => detectRef(facts({})), /HEAD is detached at 0123456: cannot tell/);
    assert.throws(() => detectRef(facts({ tagsAtHead: ['nightly'] })), /nightly are not release versions/);
    assert.throws(
      () => detectRef(facts({ tagsAtHead: ['10.1.0', '10.2.0'] })),
      /several release tags: 10.1.0, 10.2.0/,
    );
    assert.throws(
      () => detectRef(facts({ env: { GITHUB_REF: 'refs/heads/master', GITHUB_SHA: OTHER } })),
      /GITHUB_SHA.*but HEAD is 0123456789ab/,
    );
    assert.throws(() => detectRef(facts({ env: { GITHUB_REF: 'refs/tags/v1' } })), /not a release version/);
    assert.throws(() => detectRef(facts({ env: { GITHUB_REF: 'refs/notes/x' } })), /neither a branch/);
    assert.throws(() => detectRef(facts({ sha: 'abc', branch: 'master' })), /not a full commit id/);
  });
});

describe('publishTags', () => {
  it('master pushes latest, and only latest', () => {
    assert.deepEqual(tagsFor({ branch: 'master' }), ['latest']);
    assert.deepEqual(tagsFor({ branch: 'master', tagsAtHead: ['10.1.0'] }), ['latest']);
  });

  it('the configured main branch pushes latest instead of master', () => {
    assert.deepEqual(tagsFor({ branch: 'main' }, '10.1.0', 'main'), ['latest']);
    assert.deepEqual(tagsFor({ branch: 'master' }, '10.1.0', 'main'), ['master-0123456']);
  });

  it('a release tag pushes its version when it is odoo/VERSION, and is refused otherwise', () => {
    assert.deepEqual(tagsFor({ tagsAtHead: ['10.1.0'] }, '10.1.0'), ['10.1.0']);
    assert.throws(
      () => tagsFor({ tagsAtHead: ['10.1.0'] }, '10.0.0'),
      /tag 10.1.0 differs from odoo\/VERSION \(10.0.0\)/,
    );
    assert.throws(() => tagsFor({ tagsAtHead: ['10.1.0'] }, ''), /VERSION \(empty\)/);
  });

  it('another branch pushes <slug>-<short sha>, the tag `odp deploy --branch` looks for', () => {
    assert.deepEqual(tagsFor({ env: { GITHUB_REF: 'refs/heads/fix-1' } }), ['fix-1-0123456']);
    const [tag] = tagsFor({ branch: 'feature/Add_Invoice' });
    assert.match(tag!, /^feature-add-invoice-[0-9a-f]{6}-0123456$/);
    for (const branch of ['feature/Add_Invoice', 'latest', '10.1.0', `x/${'y'.repeat(200)}`, 'ÉTÉ']) {
      const [t] = tagsFor({ branch });
      assert.equal(t, branchTag(branch, SHA), branch);
      assert.match(t!, /^[a-z0-9][a-z0-9-]{0,49}-0123456$/, branch); // slug: [a-z0-9-], at most 50
      assert.ok(isBranchTag(t!.slice(0, -8), t!), branch);
      assert.notEqual(t, 'latest');
    }
  });

  it('a pull request pushes nothing', () => {
    assert.deepEqual(tagsFor({ env: { GITHUB_REF: 'refs/pull/3/merge' } }), []);
  });
});

describe('names and labels', () => {
  it('checks registries and image names', () => {
    for (const ok of ['127.0.0.1:5000', 'ghcr.io', 'localhost:5000', 'Registry.Example.com'])
      assert.equal(checkRegistry(ok), ok.toLowerCase());
    for (const bad of ['https://ghcr.io', 'ghcr.io/org', '', 'host:0', 'host:99999', 'a_b.com'])
      assert.throws(() => checkRegistry(bad), /is not HOST or HOST:PORT/, bad);
    for (const ok of ['acme_odoo', 'camptocamp/acme_odoo', 'a/b/c-d.e__f'])
      assert.equal(checkImageName(ok), ok);
    for (const bad of ['Acme', 'acme:latest', '/acme', 'acme/', 'a//b', '_a', ''])
      assert.throws(() => checkImageName(bad), /is not a repository name/, bad);
    assert.throws(() => checkImageName('ghcr.io/acme'), /starts with a registry host/);
    assert.throws(() => checkImageName('localhost/acme'), /starts with a registry host/);
  });

  it('derives an https source URL without credentials from the remote', () => {
    assert.equal(sourceUrl('git@github.com:camptocamp/acme.git'), 'https://github.com/camptocamp/acme.git');
    assert.equal(
      sourceUrl('https://x-access-token:ghs_SECRET@github.com/camptocamp/acme'),
      'https://github.com/camptocamp/acme',
    );
    assert.equal(
      sourceUrl('ssh://git@gitlab.example.com:2222/a/b.git'),
      'https://gitlab.example.com/a/b.git',
    );
    assert.equal(sourceUrl('http://git.lan:8080/a.git'), 'http://git.lan:8080/a.git');
    assert.equal(sourceUrl('/srv/git/acme.git'), undefined);
    assert.equal(sourceUrl('file:///srv/git/acme.git'), undefined);
    assert.equal(sourceUrl(undefined), undefined);
  });

  it('labels the revision and version, and the source when there is one', () => {
    assert.deepEqual(imageLabels({ sha: SHA, version: '10.1.0' }), {
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.version': '10.1.0',
    });
    assert.equal(
      imageLabels({ sha: SHA, version: '1.0.0', remote: 'https://u:p@h.example/r' })[
        'org.opencontainers.image.source'
      ],
      'https://h.example/r',
    );
  });
});

describe('credentials and the redeploy request', () => {
  const file = new Map([
    ['REGISTRY_USER', new Secret('file-user')],
    ['REGISTRY_PASSWORD', new Secret('file-pw')],
  ]);

  it('takes the environment first, then the secrets file, else anonymous', () => {
    const env = registryAuth({ ODP_REGISTRY_USER: 'u', ODP_REGISTRY_PASSWORD: 'p' }, file, 'ci.env.gpg');
    assert.equal(env.credentials, 'environment');
    assert.equal(env.auth?.password.reveal(), 'p');
    const fromFile = registryAuth({ ODP_REGISTRY_USER: '', ODP_REGISTRY_PASSWORD: '' }, file, 'ci.env.gpg');
    assert.equal(fromFile.credentials, 'secrets file');
    assert.equal(fromFile.auth?.username.reveal(), 'file-user');
    assert.deepEqual(registryAuth({}, undefined, undefined), { credentials: 'anonymous' });
    assert.deepEqual(registryAuth({}, new Map(), 'x.gpg'), { credentials: 'anonymous' });
    // Masked wherever the result is printed or serialised.
    assert.ok(!JSON.stringify(fromFile).includes('file-pw'));
  });

  it('refuses half a pair, without printing the half given', () => {
    assert.throws(
      () => registryAuth({ ODP_REGISTRY_USER: 'u' }, undefined, undefined),
      /ODP_REGISTRY_PASSWORD is not set/,
    );
    assert.throws(
      () => registryAuth({ ODP_REGISTRY_PASSWORD: 'hunter2' }, undefined, undefined),
      (e: Error) => /ODP_REGISTRY_USER is not set/.test(e.message) && !e.message.includes('hunter2'),
    );
    assert.throws(
      () => registryAuth({}, new Map([['REGISTRY_USER', new Secret('u')]]), 'ci.env.gpg'),
      /ci.env.gpg has no REGISTRY_PASSWORD/,
    );
  });

  it('posts to <url>/hooks/publish, and refuses URLs with credentials without echoing them', () => {
    assert.equal(hookUrl('https://odp.example.com'), 'https://odp.example.com/hooks/publish');
    assert.equal(hookUrl('http://127.0.0.1:8080/odp/?x=1#y'), 'http://127.0.0.1:8080/odp/hooks/publish');
    assert.throws(
      () => hookUrl('https://admin:s3cr3t@odp.example.com'),
      (e: Error) => /contains credentials/.test(e.message) && !e.message.includes('s3cr3t'),
    );
    assert.throws(
      () => hookUrl('https://admin:s3cr3t@odp.example.com:99999'),
      (e: Error) => /is not a URL/.test(e.message) && !e.message.includes('s3cr3t'),
    );
    assert.throws(() => hookUrl('ftp://odp.example.com'), /is ftp:, not http/);
  });

  it("has the body odp serve's publish hook reads", () => {
    assert.deepEqual(JSON.parse(notifyBody('127.0.0.1:5000/acme_odoo', 'acme', SHA)), {
      project: 'acme',
      instance: 'test',
      image: '127.0.0.1:5000/acme_odoo',
      tag: 'latest',
      revision: SHA,
    });
  });
});
