// Image references as Docker reads them, and where an image lives in the
// platform's registry (platform.yaml `registry.url`, docs/decisions/0070).
// Pure: the push plan, the Swarm engine's digest pinning and the spec's check
// of `registry.url` share these rules, so they always name the same place.

/** A repository path component, as the distribution spec allows it. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH = `${COMPONENT}(?:/${COMPONENT})*`;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const DOMAIN = `${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';

const REF = new RegExp(`^(?:(${DOMAIN})/)?(${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const REGISTRY_URL = new RegExp(`^(${DOMAIN})(?:/(${PATH}))?$`);
const DIGEST_ONLY = new RegExp(`^${DIGEST}$`);

export interface ImageRef {
  /** The registry host (`ghcr.io`, `127.0.0.1:5000`); undefined for Docker Hub's short names. */
  domain?: string;
  /** The repository inside its registry: `odp/nginx`, `camptocamp/acme_odoo`. */
  path: string;
  tag?: string;
  digest?: string;
}

/**
 * Docker's rule: the first part is a registry host only when it has a dot or a
 * port, or is `localhost`; otherwise `odp/nginx` is a Docker Hub repository.
 */
function isDomain(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost';
}

export function parseImageRef(ref: string): ImageRef | undefined {
  const m = REF.exec(ref);
  if (!m) return undefined;
  let [, domain, path] = m as unknown as [string, string | undefined, string];
  // `odp/nginx` matched the domain group with `odp`: give it back to the path.
  if (domain !== undefined && !isDomain(domain)) {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  if (/[A-Z]/.test(path)) return undefined;
  return {
    ...(domain ? { domain } : {}),
    path,
    ...(m[3] ? { tag: m[3] } : {}),
    ...(m[4] ? { digest: m[4] } : {}),
  };
}

/** `registry.url`: a host, an optional port and an optional path prefix. */
export interface RegistryUrl {
  host: string;
  prefix?: string;
}

/** The parsed URL, or why it is not one (for the spec's message). */
export function parseRegistryUrl(url: string): RegistryUrl | string {
  const m = REGISTRY_URL.exec(url);
  if (!m) return 'expected HOST[:PORT][/PREFIX] such as registry.example.com:5000 (no scheme)';
  const host = m[1]!;
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    return `port ${port} is not 1 to 65535`;
  // Without a dot or a port, Docker would read the host as a Docker Hub namespace.
  if (!isDomain(host))
    return `Docker reads "${host}" as a Docker Hub namespace: give a dotted name, a port or localhost`;
  return { host: host.toLowerCase(), ...(m[2] ? { prefix: m[2] } : {}) };
}

function registry(url: string): RegistryUrl {
  const r = parseRegistryUrl(url);
  if (typeof r === 'string') throw new Error(`registry.url ${url}: ${r}`);
  return r;
}

function refOf(image: string): ImageRef {
  const r = parseImageRef(image);
  if (!r) throw new Error(`not an image reference: ${image}`);
  return r;
}

/**
 * The image's repository in the registry, without tag: `<host>[/<prefix>]/<path>`.
 * The image's own registry host is dropped (the registry is a mirror of what
 * the platform runs), unless the image already lives in this registry.
 */
export function registryRepository(url: string, image: string): string {
  const r = registry(url);
  const ref = refOf(image);
  const base = r.prefix ? `${r.host}/${r.prefix}` : r.host;
  if (ref.domain?.toLowerCase() === r.host && (!r.prefix || ref.path.startsWith(`${r.prefix}/`)))
    return `${r.host}/${ref.path}`;
  return `${base}/${ref.path}`;
}

/** Where `image` is pushed: its repository in the registry with its tag (`latest` when it names none). */
export function registryRef(url: string, image: string): string {
  const ref = refOf(image);
  if (ref.digest && !ref.tag) return `${registryRepository(url, image)}@${ref.digest}`;
  return `${registryRepository(url, image)}:${ref.tag ?? 'latest'}`;
}

/** What a Swarm service runs: the registry's repository at one manifest's digest. */
export function pinnedRef(url: string, image: string, digest: string): string {
  if (!DIGEST_ONLY.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return `${registryRepository(url, image)}@${digest}`;
}

/** Splits `repo[:tag]` for an engine's push: a port is not a tag. */
export function splitTag(ref: string): { repository: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon <= ref.lastIndexOf('/')) return { repository: ref, tag: 'latest' };
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
