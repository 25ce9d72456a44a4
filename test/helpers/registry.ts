// A real image registry for tests: Debian's docker-registry (the CNCF
// distribution registry) on a free loopback port, storing in a temp directory.
// The Docker engine pushes to 127.0.0.1:<port> over plain HTTP (loopback
// registries are insecure-allowed by default), and basic auth works over it:
// neither the registry nor the engine insists on TLS for htpasswd. The handle
// reads what was pushed back through the registry's own HTTP API.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from './pebble.js';

export interface RegistryHandle {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port>, as image references and `--registry` spell it. */
  host: string;
  stop(): Promise<void>;
  /** GET /v2/<name>/tags/list: the repository's tags, sorted; [] for an unknown repository. */
  tags(name: string): Promise<string[]>;
  /** GET /v2/<name>/manifests/<tag> as a Docker v2 manifest, with its digest; undefined when absent. */
  manifest(name: string, tag: string): Promise<{ digest: string; configDigest: string } | undefined>;
  /** The image's labels, from the config blob the manifest points to. */
  labels(name: string, tag: string): Promise<Record<string, string>>;
  /** The registry's log so far, for failure messages. */
  logs(): string;
}

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export function ensureRegistry(): void {
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' });
    return;
  } catch {
    /* not installed */
  }
  if (process.getuid?.() !== 0)
    throw new Error('docker-registry is not installed: apt-get install -y docker-registry (as root)');
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker-registry'], {
    stdio: 'ignore',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

export async function startRegistry(
  o: { htpasswd?: { user: string; password: string } } = {},
): Promise<RegistryHandle> {
  ensureRegistry();
  const dir = mkdtempSync(path.join(tmpdir(), 'odp-registry-'));
  let auth = '';
  let authHeader: Record<string, string> = {};
  if (o.htpasswd) {
    // The registry reads bcrypt entries only.
    const hash = bcrypt.hashSync(o.htpasswd.password, 10);
    writeFileSync(path.join(dir, 'htpasswd'), `${o.htpasswd.user}:${hash}\n`, { mode: 0o600 });
    auth = `auth:\n  htpasswd:\n    realm: odp-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
    const basic = Buffer.from(`${o.htpasswd.user}:${o.htpasswd.password}`).toString('base64');
    authHeader = { authorization: `Basic ${basic}` };
  }
  // A port picked free can be taken before the registry binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${path.join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: ${host}
${auth}`,
    );
    const child = spawn('docker-registry', ['serve', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log: string[] = [];
    child.stderr.on('data', (c: Buffer) => log.push(c.toString()));
    const url = `http://${host}`;
    const ready = await waitReady(url, () => child.exitCode !== null);
    if (!ready) {
      child.kill('SIGKILL');
      if (attempt < 3) continue;
      throw new Error(`docker-registry did not start on ${host}:\n${log.join('')}`);
    }
    const api = (p: string, accept?: string) =>
      fetch(`${url}${p}`, { headers: { ...authHeader, ...(accept ? { accept } : {}) } });
    const handle: RegistryHandle = {
      url,
      host,
      logs: () => log.join(''),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            child.kill('SIGTERM');
          });
        }
        rmSync(dir, { recursive: true, force: true });
      },
      tags: async (name) => {
        const r = await api(`/v2/${name}/tags/list`);
        if (r.status === 404) return [];
        if (!r.ok) throw new Error(`tags/list ${name}: HTTP ${r.status} ${await r.text()}`);
        const body = (await r.json()) as { tags?: string[] | null };
        return [...(body.tags ?? [])].sort();
      },
      manifest: async (name, tag) => {
        const r = await api(`/v2/${name}/manifests/${tag}`, MANIFEST_V2);
        if (r.status === 404) return undefined;
        if (!r.ok) throw new Error(`manifest ${name}:${tag}: HTTP ${r.status} ${await r.text()}`);
        const m = (await r.json()) as { mediaType?: string; config?: { digest?: string } };
        if (m.mediaType !== MANIFEST_V2 || !m.config?.digest)
          throw new Error(`manifest ${name}:${tag} is not a Docker v2 manifest: ${JSON.stringify(m)}`);
        return { digest: r.headers.get('docker-content-digest') ?? '', configDigest: m.config.digest };
      },
      labels: async (name, tag) => {
        const m = await handle.manifest(name, tag);
        if (!m) throw new Error(`no manifest ${name}:${tag}`);
        const r = await api(`/v2/${name}/blobs/${m.configDigest}`);
        if (!r.ok) throw new Error(`config blob ${name}@${m.configDigest}: HTTP ${r.status}`);
        const c = (await r.json()) as { config?: { Labels?: Record<string, string> | null } };
        return c.config?.Labels ?? {};
      },
    };
    return handle;
  }
}

async function waitReady(url: string, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited()) return false;
    // 200 without auth, 401 with: either way the registry answers.
    const status = await fetch(`${url}/v2/`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200 || status === 401) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
