// The Debian base image: debootstrap a minimal rootfs and import it through the
// engine's image store. No image registry is reachable, so this is the root of every image
// odp runs. The archive address comes from the machine's own apt sources: a
// mirror or a snapshot configured there is what the images get too.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ImageStore } from '../engines/images.js';
import { OdpError } from '../errors.js';
import type { DebootstrapImage } from './catalog.js';

/** Bump when the rootfs customisation below changes, so cached bases are rebuilt. */
const BASE_RECIPE = 3;

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** deb822 `.sources` stanzas (the format Debian 12 ships by default). */
export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (fields.get('enabled') === 'no' || words('uris').length === 0) continue;
    out.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      ...(fields.has('signed-by') ? { signedBy: fields.get('signed-by')! } : {}),
    });
  }
  return out;
}

/** One-line `deb URI SUITE COMPONENTS` entries, for machines still on sources.list. */
export function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/#.*/, '')
      .replace(/\[[^\]]*\]/, '')
      .trim();
    const [type, uri, suite, ...components] = line.split(/\s+/);
    if (type === 'deb' && uri && suite)
      out.push({ types: ['deb'], uris: [uri], suites: [suite], components });
  }
  return out;
}

export async function readMachineSources(root = '/etc/apt'): Promise<AptSource[]> {
  const sources: AptSource[] = [];
  const dir = path.join(root, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8');
    if (name.endsWith('.sources')) sources.push(...parseDeb822(text));
    else if (name.endsWith('.list')) sources.push(...parseOneLine(text));
  }
  sources.push(...parseOneLine(await readFile(path.join(root, 'sources.list'), 'utf8').catch(() => '')));
  return sources;
}

export interface BaseSources {
  /** The archive debootstrap fetches from. */
  mirror: string;
  /** The deb822 sources file written into the image (suite, -updates, -security). */
  deb822: string;
}

/** The machine's sources for `suite` and its -updates/-security companions. */
export function baseSources(sources: AptSource[], suite: string): BaseSources {
  const debs = sources.filter((s) => s.types.includes('deb'));
  const main = debs.find((s) => s.suites.includes(suite));
  if (!main) {
    throw new OdpError('ENGINE', `no apt source for Debian ${suite} on this machine`, {
      hint: 'odp reads the Debian archive address from /etc/apt/sources.list.d/*.sources',
    });
  }
  const stanzas: string[] = [];
  for (const s of debs) {
    const suites = s.suites.filter((x) => x === suite || x.startsWith(`${suite}-`));
    if (suites.length === 0) continue;
    const lines = ['Types: deb', `URIs: ${s.uris.join(' ')}`, `Suites: ${suites.join(' ')}`];
    lines.push(`Components: ${s.components.length > 0 ? s.components.join(' ') : 'main'}`);
    // The rootfs has Debian's archive keyring; any other key file would not exist in it.
    if (s.signedBy === '/usr/share/keyrings/debian-archive-keyring.gpg')
      lines.push(`Signed-By: ${s.signedBy}`);
    stanzas.push(lines.join('\n'));
  }
  return { mirror: main.uris[0]!, deb822: `${stanzas.join('\n\n')}\n` };
}

export function baseInputHash(img: DebootstrapImage, src: BaseSources): string {
  const input = JSON.stringify({ recipe: BASE_RECIPE, suite: img.suite, variant: img.variant, ...src });
  return createHash('sha256').update(input).digest('hex');
}

function run(cmd: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const feed = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new OdpError('ENGINE', `${cmd} exited with ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/** Slim and tune the fresh rootfs the way Debian's own container images are. */
async function customise(root: string, src: BaseSources): Promise<void> {
  const wipe = [
    'var/cache/apt/archives',
    'var/lib/apt/lists',
    'usr/share/doc',
    'usr/share/man',
    'usr/share/info',
  ];
  for (const rel of wipe) {
    await rm(path.join(root, rel), { recursive: true, force: true });
    await mkdir(path.join(root, rel), { recursive: true });
  }
  const locales = path.join(root, 'usr/share/locale');
  for (const name of await readdir(locales).catch(() => [] as string[])) {
    if (name !== 'locale.alias') await rm(path.join(locales, name), { recursive: true, force: true });
  }
  await mkdir(path.join(root, 'var/cache/apt/archives/partial'), { recursive: true });
  await mkdir(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  await rm(path.join(root, 'etc/apt/sources.list'), { force: true });
  await writeFile(path.join(root, 'etc/apt/sources.list.d/debian.sources'), src.deb822);
  // Package scripts must not try to start daemons during image builds.
  await writeFile(path.join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n');
  await chmod(path.join(root, 'usr/sbin/policy-rc.d'), 0o755);
  // Later apt installs keep documentation and message translations (of no use
  // in a server container) out of the images too.
  await writeFile(
    path.join(root, 'etc/dpkg/dpkg.cfg.d/odp-nodoc'),
    [
      'path-exclude=/usr/share/doc/*',
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/man/*',
      'path-exclude=/usr/share/info/*',
      'path-exclude=/usr/share/locale/*',
      'path-include=/usr/share/locale/locale.alias',
      '',
    ].join('\n'),
  );
  // Like Debian's official images: no package cache kept in any layer, so
  // `apt-get update && apt-get install` in one RUN leaves nothing behind.
  const clean =
    'rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true';
  await writeFile(
    path.join(root, 'etc/apt/apt.conf.d/odp-clean'),
    [
      `DPkg::Post-Invoke { "${clean}"; };`,
      `APT::Update::Post-Invoke { "${clean}"; };`,
      'Dir::Cache::pkgcache "";',
      'Dir::Cache::srcpkgcache "";',
      'APT::Install-Recommends "false";',
      'APT::Install-Suggests "false";',
      'Acquire::Languages "none";',
      '',
    ].join('\n'),
  );
  // Docker provides /dev; the device nodes debootstrap made are not wanted in a layer.
  await rm(path.join(root, 'dev'), { recursive: true, force: true });
  await mkdir(path.join(root, 'dev'));
}

/** Anything debootstrap left mounted under `root` (it unmounts on success, not always on failure). */
async function mountsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

export async function buildDebianBase(
  images: ImageStore,
  img: DebootstrapImage,
  src: BaseSources,
  hash: string,
  onLine: (line: string) => void,
): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'odp-rootfs-'));
  try {
    // mkdtemp makes it 0700, and the image's / would keep that: overlay2 hides it, but
    // on vfs (nested engines, the swarm test nodes) only root could enter /.
    await chmod(root, 0o755);
    await run('debootstrap', [`--variant=${img.variant}`, img.suite, root, src.mirror], onLine);
    await customise(root, src);
    const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tarErr = '';
    tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
    const tarDone = new Promise<number>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => resolve(code ?? 1));
    });
    await images.importRootfs(
      {
        rootfs: tar.stdout,
        tag: img.tag,
        labels: { 'odp.input-hash': hash },
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        cmd: ['bash'],
      },
      onLine,
    );
    const code = await tarDone;
    if (code !== 0) throw new OdpError('ENGINE', `tar of the rootfs failed (${code}): ${tarErr.trim()}`);
  } finally {
    // Never recurse into a live /proc or /sys: unmount what is left first.
    for (const m of await mountsUnder(root))
      await run('umount', ['-l', m], () => undefined).catch(() => undefined);
    if ((await mountsUnder(root)).length === 0) await rm(root, { recursive: true, force: true });
  }
}
