// GitHub deliveries read into events: the shapes GitHub sends (trimmed from its
// documented examples), and every other shape refused with a reason, never an
// exception. Also the project's `repository` field and how a delivery finds it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { jsonSchema } from '../../src/platform-spec/json-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import {
  badRefName,
  matchRepository,
  normalizeRepository,
  parseGithubDelivery,
  projectsForRepository,
  repositoryHost,
  type GithubParse,
  type RepoRef,
} from '../../src/webhooks/github.js';
import { project } from '../helpers/specs.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = '0123456789abcdef0123456789abcdef01234567';
const ZERO = '0'.repeat(40);
const repository = {
  id: 1296269,
  name: 'neomedical-odoo',
  full_name: 'acme/neomedical-odoo',
  html_url: 'https://github.com/acme/neomedical-odoo',
  default_branch: 'master',
};

function push(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ref: 'refs/heads/master',
    before: SHA_B,
    after: SHA_A,
    created: false,
    deleted: false,
    forced: false,
    head_commit: { id: SHA_A, message: 'Fix invoice layout' },
    commits: [{ id: SHA_A }],
    repository,
    pusher: { name: 'jdoe' },
    ...over,
  });
}

const event = (p: GithubParse) => (p.outcome === 'event' ? p.event : assert.fail(JSON.stringify(p)));

describe('push and create events', () => {
  it('a push to a branch is the branch and the pushed commit', () => {
    assert.deepEqual(event(parseGithubDelivery('push', push())), {
      kind: 'branch-push',
      repo: {
        host: 'github.com',
        fullName: 'acme/neomedical-odoo',
        htmlUrl: 'https://github.com/acme/neomedical-odoo',
      },
      branch: 'master',
      sha: SHA_A,
    });
    const feature = event(
      parseGithubDelivery('push', Buffer.from(push({ ref: 'refs/heads/feature/invoice-42' }))),
    );
    assert.equal(feature.kind === 'branch-push' && feature.branch, 'feature/invoice-42');
  });

  it('a deleted branch is a branch-deleted event (its after is all zeros)', () => {
    const e = event(
      parseGithubDelivery('push', push({ ref: 'refs/heads/feature/x', deleted: true, after: ZERO })),
    );
    assert.deepEqual(e, {
      kind: 'branch-deleted',
      repo: e.kind === 'branch-deleted' && e.repo,
      branch: 'feature/x',
    });
  });

  it('a pushed release tag is a version with its commit (head_commit, not the tag object)', () => {
    const e = event(parseGithubDelivery('push', push({ ref: 'refs/tags/10.0.3', after: SHA_B })));
    assert.deepEqual(
      [e.kind, e.kind === 'version-tag' && e.version, e.kind === 'version-tag' && e.sha],
      ['version-tag', '10.0.3', SHA_A],
    );
    const five = event(parseGithubDelivery('push', push({ ref: 'refs/tags/14.0.1.2.0', head_commit: null })));
    assert.equal(five.kind === 'version-tag' && five.sha, SHA_A);
  });

  it('a create event for a tag records the version without a commit; a new branch waits for its push', () => {
    const created = parseGithubDelivery(
      'create',
      JSON.stringify({ ref: '1.2.0', ref_type: 'tag', repository }),
    );
    assert.deepEqual(event(created), {
      kind: 'version-tag',
      repo: { host: 'github.com', fullName: repository.full_name, htmlUrl: repository.html_url },
      version: '1.2.0',
    });
    const branch = parseGithubDelivery(
      'create',
      JSON.stringify({ ref: 'feat', ref_type: 'branch', repository }),
    );
    assert.equal(branch.outcome, 'ignored');
  });

  it('tags that are not versions, deleted tags and other refs are ignored with a reason', () => {
    for (const [body, reason] of [
      [push({ ref: 'refs/tags/v1.2' }), /not a release version/],
      [push({ ref: 'refs/tags/1.2.3', deleted: true, after: ZERO }), /stays recorded/],
      [push({ ref: 'refs/notes/commits' }), /neither a branch nor a tag/],
    ] as const) {
      const r = parseGithubDelivery('push', body);
      assert.equal(r.outcome, 'ignored');
      assert.match(r.outcome === 'ignored' ? r.reason : '', reason);
    }
  });

  it('ping answers; events odp does not use are ignored, not refused', () => {
    assert.deepEqual(
      event(parseGithubDelivery('ping', JSON.stringify({ zen: 'Keep it logically awesome.' }))),
      {
        kind: 'ping',
      },
    );
    const issues = parseGithubDelivery('issues', JSON.stringify({ action: 'opened' }));
    assert.deepEqual(issues, { outcome: 'ignored', reason: 'event issues is not used' });
  });
});

describe('refused deliveries', () => {
  const refused: [string, unknown, string | Buffer, RegExp][] = [
    ['no event header', undefined, push(), /X-GitHub-Event/],
    ['an event header list', ['push', 'push'], push(), /X-GitHub-Event/],
    ['a weird event name', 'push; rm -rf', push(), /X-GitHub-Event/],
    ['not JSON', 'push', '{"ref": "refs/heads/master",', /not JSON/],
    ['random bytes', 'push', Buffer.from([0xff, 0x00, 0x7b]), /not JSON/],
    ['an array', 'push', '[1,2]', /not a JSON object/],
    ['null', 'push', 'null', /not a JSON object/],
    ['a string', 'ping', '"hello"', /not a JSON object/],
    ['after is a number', 'push', push({ after: 42 }), /after/],
    ['after is not a sha', 'push', push({ after: 'HEAD' }), /after: expected a commit id/],
    ['ref missing', 'push', push({ ref: undefined }), /ref/],
    ['repository missing', 'push', push({ repository: undefined }), /repository/],
    [
      'full_name a number',
      'push',
      push({ repository: { ...repository, full_name: 7 } }),
      /repository\.full_name/,
    ],
    ['deleted is a string', 'push', push({ deleted: 'yes' }), /deleted/],
    ['a zero commit on a push', 'push', push({ after: ZERO }), /zero commit/],
    ['a branch with ..', 'push', push({ ref: 'refs/heads/a..b' }), /"\.\."/],
    ['a branch with a space', 'push', push({ ref: 'refs/heads/a b' }), /spaces/],
    ['an empty branch', 'push', push({ ref: 'refs/heads/' }), /1 to 255/],
    [
      'create with a bad ref_type',
      'create',
      JSON.stringify({ ref: '1.0.0', ref_type: 'x', repository }),
      /ref_type/,
    ],
  ];
  for (const [what, name, body, reason] of refused) {
    it(`refuses ${what}`, () => {
      const r = parseGithubDelivery(name, body);
      assert.equal(r.outcome, 'invalid', JSON.stringify(r));
      assert.match(r.outcome === 'invalid' ? r.reason : '', reason);
    });
  }

  it('never throws, whatever arrives (random bytes, truncations and type swaps of a real payload)', () => {
    const base = push();
    const values = [null, 0, -1, 1e308, '', 'x'.repeat(2000), [], {}, true, { id: SHA_A }, [SHA_A]];
    const fields = ['ref', 'after', 'deleted', 'repository', 'head_commit'];
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      let body: string | Buffer;
      if (i % 3 === 0) body = randomBytes(i % 200);
      else if (i % 3 === 1) body = base.slice(0, i % base.length);
      else body = push({ [fields[i % fields.length]!]: values[i % values.length] });
      const r = parseGithubDelivery(i % 7 === 0 ? 'create' : 'push', body);
      seen.add(r.outcome);
      assert.ok(['event', 'ignored', 'invalid'].includes(r.outcome));
    }
    assert.ok(seen.has('invalid'));
  });
});

describe('branch names', () => {
  it('accepts what git accepts and refuses the rest', () => {
    for (const ok of ['master', 'feature/x-1', 'fix_2.3', 'user/jdoe/wip'])
      assert.equal(badRefName(ok), undefined, ok);
    for (const bad of [
      '-x',
      'x/',
      '.x',
      'x.lock',
      'a//b',
      'a/.b',
      'x~1',
      'a^',
      'a:b',
      'a\\b',
      'a@{1}',
      'x'.repeat(256),
    ]) {
      assert.ok(badRefName(bad), bad);
    }
  });
});

describe('the repository of a project', () => {
  const projects = [
    { name: 'neomedical', repository: 'github.com/acme/neomedical-odoo' },
    { name: 'other', repository: 'github.com/acme/other-odoo' },
    { name: 'norepo' },
  ];
  /** The repository of a push from this repository, as the parser reads it. */
  const ref = (fullName: string, htmlUrl: string) =>
    (
      event(
        parseGithubDelivery('push', push({ repository: { full_name: fullName, html_url: htmlUrl } })),
      ) as {
        repo: RepoRef;
      }
    ).repo;

  it('matches the host and the full name of the delivery, case-insensitively', () => {
    assert.deepEqual(
      projectsForRepository(projects, ref('acme/neomedical-odoo', 'https://github.com/acme/neomedical-odoo')),
      ['neomedical'],
    );
    assert.deepEqual(
      projectsForRepository(projects, ref('Acme/Neomedical-Odoo', 'https://GitHub.com/Acme/Neomedical-Odoo')),
      ['neomedical'],
    );
    assert.deepEqual(
      projectsForRepository(projects, ref('evil/neomedical-odoo', 'https://github.com/evil/neomedical-odoo')),
      [],
    );
    assert.deepEqual(
      projectsForRepository(projects, ref('acme/neomedical', 'https://github.com/acme/neomedical')),
      [],
    );
  });

  it("a GitHub Enterprise push of the same owner/name matches nothing, saying whose it is (GitHub's payload shape)", () => {
    const ghe = readFileSync(new URL('../fixtures/github/push-enterprise.json', import.meta.url), 'utf8');
    const e = event(parseGithubDelivery('push', ghe));
    assert.equal(e.kind, 'branch-push');
    const repo = (e as { repo: RepoRef }).repo;
    assert.deepEqual([repo.host, repo.fullName], ['ghe.example.com', 'acme/neomedical-odoo']);
    const m = matchRepository(projects, repo);
    assert.deepEqual(m.projects, []);
    assert.equal(
      m.reason,
      "repository ghe.example.com/acme/neomedical-odoo matches no project (github.com/acme/neomedical-odoo is neomedical's: another host is another repository)",
    );
    // The same payload from github.com (its API on api.github.com) is neomedical's.
    const dotcom = ghe
      .replaceAll('ghe.example.com/api/v3', 'api.github.com')
      .replaceAll('ghe.example.com', 'github.com');
    const d = event(parseGithubDelivery('push', dotcom)) as { repo: RepoRef };
    assert.deepEqual(matchRepository(projects, d.repo).projects, ['neomedical']);
    // A project whose spec names the Enterprise server gets that push.
    const onGhe = [...projects, { name: 'internal', repository: 'ghe.example.com/acme/neomedical-odoo' }];
    assert.deepEqual(matchRepository(onGhe, repo).projects, ['internal']);
  });

  it('takes the host from html_url, else clone_url, else url (an API url on github.com is github.com)', () => {
    const host = (r: Record<string, unknown>) =>
      repositoryHost({ html_url: 'not a url', ...r } as Parameters<typeof repositoryHost>[0]);
    assert.equal(host({ html_url: 'https://GHE.example.com:8443/a/b' }), 'ghe.example.com');
    assert.equal(host({ clone_url: 'https://git.example.com/a/b.git' }), 'git.example.com');
    assert.equal(host({ url: 'https://api.github.com/repos/a/b' }), 'github.com');
    assert.equal(host({ url: 'https://ghe.example.com/api/v3/repos/a/b' }), 'ghe.example.com');
    assert.equal(host({ url: 'file:///etc/passwd' }), undefined);
    const r = parseGithubDelivery(
      'push',
      push({ repository: { full_name: 'acme/x', html_url: 'not a url' } }),
    );
    assert.equal(r.outcome, 'invalid');
    assert.match(r.outcome === 'invalid' ? r.reason : '', /names its host/);
  });

  it('reads the usual ways of writing a repository', () => {
    for (const s of [
      'github.com/acme/x',
      'https://github.com/acme/x',
      'https://github.com/acme/x.git',
      'git@github.com:acme/x.git',
      'ssh://git@github.com/acme/x',
      'GitHub.com/Acme/X/',
    ]) {
      assert.equal(normalizeRepository(s), 'github.com/acme/x', s);
    }
  });

  it('is an optional field of the project spec, with a clear message, and in the JSON Schema', () => {
    assert.equal(
      project((d) => (d.repository = 'github.com/acme/neomedical-odoo')).spec.repository,
      'github.com/acme/neomedical-odoo',
    );
    assert.equal(project().spec.repository, undefined);
    for (const bad of ['acme/neomedical-odoo', 'https://github.com/acme/x', 'github.com/acme']) {
      const r = projectSchema.safeParse({ ...project().spec, repository: bad });
      assert.equal(r.success, false, bad);
      assert.match(r.error?.issues[0]?.message ?? '', /source repository such as github\.com/);
    }
    const props = (jsonSchema('project') as { properties: Record<string, { type?: string }> }).properties;
    assert.equal(props.repository?.type, 'string');
  });
});
