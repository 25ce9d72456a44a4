// `odp publish` end to end: a real git repository (the sample Odoo project),
// the real Docker engine building and pushing, real registries (Debian's
// docker-registry on loopback, one open, one behind htpasswd basic auth), and a
// real HTTP server standing in for `odp serve`'s /hooks/publish that checks the
// signature with the server's own verifyDelivery. What was pushed is read back
// through the registry's HTTP API, not from the local engine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SimpleGit } from 'simple-git';
import { branchTag } from '../../src/compose/branch.js';
import { buildImages } from '../../src/images/build.js';
import { Secret } from '../../src/secret.js';
import { writeSecrets } from '../../src/secrets/store.js';
import { verifyDelivery } from '../../src/webhooks/sign.js';
import { docker, images, runCli, uniqueName, type CliResult } from './helpers.js';
import { makeOdooRepo } from '../helpers/odoo-repo.js';
import { startRegistry, type RegistryHandle } from '../helpers/registry.js';

const image = uniqueName('odp-e2e-publish-');
const REVISION = 'org.opencontainers.image.revision';
const VERSION = 'org.opencontainers.image.version';
const SOURCE = 'org.opencontainers.image.source';
// Secrets that must never be printed: the registry password, the webhook secret, a token in the remote URL.
const REGISTRY_USER = 'ci-publisher';
const REGISTRY_PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const WEBHOOK_SECRET = `wh-${randomBytes(9).toString('hex')}`;
const REMOTE_TOKEN = `tok-${randomBytes(9).toString('hex')}`;
const PASSPHRASE = 'publish-e2e-passphrase';

interface Hit {
  headers: http.IncomingHttpHeaders;
  body: string;
  valid: boolean;
}

/** The receiving end of the redeploy request: verifies as `odp serve` does and records. */
async function startHookServer(
  secret: string,
): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const valid =
        req.method === 'POST' &&
        req.url === '/hooks/publish' &&
        verifyDelivery(secret, raw, req.headers['x-odp-signature'], { now: Date.now(), windowMs: 300_000 })
          .outcome === 'ok';
      hits.push({ headers: req.headers, body: raw.toString('utf8'), valid });
      res.writeHead(valid ? 202 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(valid ? { status: 'queued' } : { error: 'wrong signature' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A clean environment: nothing from the developer's shell or CI decides the ref or the credentials. */
const baseEnv = {
  GITHUB_REF: '',
  GITHUB_SHA: '',
  ODP_REGISTRY: '',
  ODP_IMAGE: '',
  ODP_REGISTRY_USER: '',
  ODP_REGISTRY_PASSWORD: '',
  ODP_SERVER_URL: '',
  ODP_PROJECT: '',
  ODP_WEBHOOK_SECRET: '',
  ODP_MAIN_BRANCH: '',
};

function assertNoSecrets(r: CliResult): void {
  const all = r.stdout + r.stderr;
  for (const s of [REGISTRY_PASSWORD, WEBHOOK_SECRET, REMOTE_TOKEN, PASSPHRASE])
    assert.ok(!all.includes(s), `a secret was printed:\n${all}`);
}

const show = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('odp publish', { timeout: 900_000 }, () => {
  let open: RegistryHandle;
  let locked: RegistryHandle;
  let hook: Awaited<ReturnType<typeof startHookServer>>;
  let repo: { dir: string; git: SimpleGit };
  const dirs: string[] = [];

  const publish = (args: string[], env: Record<string, string> = {}) =>
    runCli(['publish', '--repo', repo.dir, '--image', image, ...args], {
      env: { ...baseEnv, ...env },
      timeoutMs: 600_000,
    });
  const commit = async (file: string, text: string, message: string): Promise<string> => {
    await writeFile(path.join(repo.dir, file), text);
    await repo.git.add(file);
    await repo.git.commit(message);
    return (await repo.git.revparse(['HEAD'])).trim();
  };

  before(async () => {
    // The project image is FROM the reference workload: built once, cached after.
    await buildImages({ images, only: ['odp/odoo-reference:base'] });
    [open, locked, hook] = await Promise.all([
      startRegistry(),
      startRegistry({ htpasswd: { user: REGISTRY_USER, password: REGISTRY_PASSWORD } }),
      startHookServer(WEBHOOK_SECRET),
    ]);
    repo = await makeOdooRepo({ version: '10.0.0' });
    dirs.push(repo.dir);
    // CI remotes often carry a token: it must not reach the image's source label.
    await repo.git.addRemote(
      'origin',
      `https://x-access-token:${REMOTE_TOKEN}@git.example.com/acme/odoo.git`,
    );
  });

  after(async () => {
    // Every local image this file pushed or left (pushed references and publish's content tags).
    const images = await docker.listImages();
    for (const img of images) {
      const mine = (img.RepoTags ?? []).filter(
        (t) =>
          t.startsWith(`${open?.host}/${image}:`) ||
          t.startsWith(`${locked?.host}/${image}:`) ||
          t.startsWith(`odp-publish/${image}:`),
      );
      for (const t of mine)
        await docker
          .getImage(t)
          .remove()
          .catch(() => undefined);
    }
    await Promise.all([open?.stop(), locked?.stop(), hook?.close()]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('dry run: says the ref, the tag and the notify target, and changes nothing', async () => {
    const r = await publish(
      ['--registry', open.host, '--notify', hook.url, '--project', 'acme', '--dry-run'],
      {
        ODP_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    );
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^ref +branch master at [0-9a-f]{12} \(from git\)$/m);
    assert.match(r.stdout, /^tags +latest$/m);
    assert.match(r.stdout, new RegExp(`^notify +${hook.url}/hooks/publish \\(redeploy acme/test\\)$`, 'm'));
    assert.match(r.stderr, /dry run: nothing was built, pushed or posted/);
    assert.deepEqual(await open.tags(image), []);
    assert.equal(hook.hits.length, 0);
    assert.ok(!(await docker.listImages({ filters: { reference: [`${open.host}/${image}`] } })).length);
    assertNoSecrets(r);
  });

  it('master pushes latest only, labelled with the commit, and asks for a signed redeploy once', async () => {
    const sha = (await repo.git.revparse(['HEAD'])).trim();
    const r = await publish(['--registry', open.host, '--notify', `${hook.url}/`, '--project', 'acme'], {
      ODP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await open.tags(image), ['latest']);
    const labels = await open.labels(image, 'latest');
    assert.equal(labels[REVISION], sha);
    assert.equal(labels[VERSION], '10.0.0');
    assert.equal(labels[SOURCE], 'https://git.example.com/acme/odoo.git');
    assert.match(r.stdout, new RegExp(`^pushed +${open.host}/${image}:latest +sha256:[0-9a-f]{64}$`, 'm'));
    const manifest = await open.manifest(image, 'latest');
    assert.ok(r.stdout.includes(manifest!.digest), 'the printed digest is the registry manifest digest');

    assert.equal(hook.hits.length, 1, 'exactly one redeploy request');
    const hit = hook.hits[0]!;
    assert.ok(hit.valid, `signature does not verify: ${JSON.stringify(hit.headers)}`);
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.match(
      String(hit.headers['x-odp-delivery']),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.deepEqual(JSON.parse(hit.body), {
      project: 'acme',
      instance: 'test',
      image: `${open.host}/${image}`,
      tag: 'latest',
      revision: sha,
    });
    assert.match(r.stdout, /^notified .*\/hooks\/publish: 202 /m);
    // A changed body does not verify with the same header: the check is real.
    assert.equal(
      verifyDelivery(WEBHOOK_SECRET, hit.body.replace('acme', 'acmf'), hit.headers['x-odp-signature'], {
        now: Date.now(),
        windowMs: 300_000,
      }).outcome,
      'unsigned',
    );
    assertNoSecrets(r);
  });

  it('a branch pushes <slug>-<short sha> only, with its own revision, and posts nothing', async () => {
    await repo.git.checkout(['-b', 'feature/Login-Page']);
    // A commit outside odoo/: the image content is the same, its revision label is not.
    const sha = await commit('README.md', 'login page\n', 'Login page');
    const before = hook.hits.length;
    const r = await publish(['--registry', open.host, '--notify', hook.url, '--project', 'acme'], {
      ODP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    assert.equal(r.code, 0, show(r));
    const tag = branchTag('feature/Login-Page', sha);
    assert.match(tag, new RegExp(`^feature-login-page-[0-9a-f]{6}-${sha.slice(0, 7)}$`));
    assert.deepEqual(await open.tags(image), [tag, 'latest'].sort());
    assert.equal((await open.labels(image, tag))[REVISION], sha);
    assert.match(r.stdout, /^notify +nothing: only a build of master redeploys the test instance$/m);
    assert.equal(hook.hits.length, before, 'a branch build posts nothing');
    assertNoSecrets(r);
  });

  it('a release tag pushes its version only, and posts nothing', async () => {
    await repo.git.checkout('master');
    await writeFile(path.join(repo.dir, 'odoo/VERSION'), '10.1.0\n');
    await repo.git.add('odoo/VERSION');
    await repo.git.commit('Release 10.1.0');
    await repo.git.addAnnotatedTag('10.1.0', 'Release 10.1.0');
    const sha = (await repo.git.revparse(['HEAD'])).trim();
    await repo.git.checkout(['--detach', '10.1.0']); // as CI checks out a tag
    const before = hook.hits.length;
    const latestBefore = (await open.manifest(image, 'latest'))!.digest;
    const r = await publish(['--registry', open.host, '--notify', hook.url, '--project', 'acme'], {
      ODP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^ref +tag 10\.1\.0 at/m);
    const tags = await open.tags(image);
    assert.deepEqual(
      tags.filter((t) => !t.startsWith('feature-')),
      ['10.1.0', 'latest'],
    );
    assert.equal(tags.length, 3);
    const labels = await open.labels(image, '10.1.0');
    assert.equal(labels[REVISION], sha);
    assert.equal(labels[VERSION], '10.1.0');
    assert.equal((await open.manifest(image, 'latest'))!.digest, latestBefore, 'latest is untouched');
    assert.equal(hook.hits.length, before, 'a tag build posts nothing');
  });

  it('GITHUB_REF on a detached HEAD decides: a lightweight tag differing from odoo/VERSION is refused before building', async () => {
    await repo.git.checkout('master');
    const sha = await commit('HISTORY.rst', 'unreleased work\n', 'Work after 10.1.0');
    await repo.git.tag(['10.2.0']); // lightweight, and odoo/VERSION still says 10.1.0
    await repo.git.checkout(['--detach', '10.2.0']);
    const before = await open.tags(image);
    const r = await publish(['--registry', open.host], { GITHUB_REF: 'refs/tags/10.2.0', GITHUB_SHA: sha });
    assert.equal(r.code, 8, show(r));
    assert.match(r.stderr, /error: tag 10\.2\.0 differs from odoo\/VERSION \(10\.1\.0\)/);
    assert.deepEqual(await open.tags(image), before);
    // Nothing was built: no local image carries this commit.
    const built = await docker.listImages({ filters: { label: [`${REVISION}=${sha}`] } });
    assert.deepEqual(built, []);
    // The same commit as a branch build (GITHUB_REF says so) is fine.
    const ok = await publish(['--registry', open.host, '--dry-run'], {
      GITHUB_REF: 'refs/heads/hotfix',
      GITHUB_SHA: sha,
    });
    assert.equal(ok.code, 0, show(ok));
    assert.match(ok.stdout, new RegExp(`^tags +hotfix-${sha.slice(0, 7)}$`, 'm'));
    // A pull request's merge commit is not published at all.
    const pr = await publish(['--registry', open.host], { GITHUB_REF: 'refs/pull/7/merge', GITHUB_SHA: sha });
    assert.equal(pr.code, 0, show(pr));
    assert.match(pr.stdout, /nothing to publish: pull request 7\/merge/);
    assert.deepEqual(await open.tags(image), before);
    await repo.git.checkout('master');
  });

  it('uncommitted changes under odoo/ are refused: the revision label would lie', async () => {
    await writeFile(path.join(repo.dir, 'odoo/VERSION'), '10.9.0\n');
    try {
      const r = await publish(['--registry', open.host, '--dry-run']);
      assert.equal(r.code, 8, show(r));
      assert.match(r.stderr, /error: odoo\/ has uncommitted changes: odoo\/VERSION/);
    } finally {
      await repo.git.checkout(['--', 'odoo/VERSION']);
    }
  });

  it('a registry behind basic auth: anonymous is refused; credentials from the environment or the secrets file work and are never printed', async () => {
    const anon = await publish(['--registry', locked.host]);
    assert.equal(anon.code, 5, show(anon));
    assert.match(anon.stderr, /no basic auth credentials|authentication required/);
    assert.match(anon.stderr, /hint: Set ODP_REGISTRY_USER and ODP_REGISTRY_PASSWORD/);
    assert.deepEqual(await locked.tags(image), []);

    const fromEnv = await publish(['--registry', locked.host], {
      ODP_REGISTRY_USER: REGISTRY_USER,
      ODP_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
    });
    assert.equal(fromEnv.code, 0, show(fromEnv));
    assert.match(fromEnv.stdout, /^credentials +environment$/m);
    assert.deepEqual(await locked.tags(image), ['latest']);
    assertNoSecrets(fromEnv);

    // The secrets file: gpg-compatible, REGISTRY_USER/REGISTRY_PASSWORD, opened with ODP_PASSPHRASE.
    const file = path.join(repo.dir, '..', `${path.basename(repo.dir)}-ci.env.gpg`);
    dirs.push(file);
    await writeSecrets(
      file,
      new Map([
        ['REGISTRY_USER', new Secret(REGISTRY_USER)],
        ['REGISTRY_PASSWORD', new Secret(REGISTRY_PASSWORD)],
      ]),
      PASSPHRASE,
    );
    await repo.git.checkout(['-b', 'fix/secrets-file']);
    const sha = await commit('README.md', 'secrets file\n', 'Secrets file');
    const fromFile = await publish(['--registry', locked.host, '--secrets-file', file, '--json'], {
      ODP_PASSPHRASE: PASSPHRASE,
    });
    assert.equal(fromFile.code, 0, show(fromFile));
    const out = JSON.parse(fromFile.stdout) as { credentials: string; pushed: { reference: string }[] };
    assert.equal(out.credentials, 'secrets file');
    const tag = branchTag('fix/secrets-file', sha);
    assert.deepEqual(
      out.pushed.map((p) => p.reference),
      [`${locked.host}/${image}:${tag}`],
    );
    assert.deepEqual(await locked.tags(image), [tag, 'latest'].sort());
    assertNoSecrets(fromFile);

    const wrong = await publish(['--registry', locked.host, '--secrets-file', file], {
      ODP_PASSPHRASE: 'not it',
    });
    assert.equal(wrong.code, 4, show(wrong));
    assertNoSecrets(wrong);
    await repo.git.checkout('master');
  });

  it('a redeploy refused by the server: the image is pushed, the exit code says the rest failed', async () => {
    const sha = (await repo.git.revparse(['HEAD'])).trim();
    const before = hook.hits.length;
    const r = await publish(['--registry', open.host, '--notify', hook.url, '--project', 'acme'], {
      ODP_WEBHOOK_SECRET: 'not-the-servers-secret',
    });
    assert.equal(r.code, 1, show(r));
    assert.equal(hook.hits.length, before + 1);
    assert.equal(hook.hits.at(-1)!.valid, false);
    assert.match(
      r.stderr,
      /error: the image is pushed \(.*:latest\) but the redeploy was not requested: .* answered 401/,
    );
    assert.equal((await open.labels(image, 'latest'))[REVISION], sha, 'the push itself happened');
    assert.ok(!(r.stdout + r.stderr).includes('not-the-servers-secret'));
  });
});
