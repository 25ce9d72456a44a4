// Keeps the edge in step with the spec: one route per declared instance (its
// domain to its Odoo units' nginx, by container name), the certificates odp
// holds, applied as one checked release and reloaded without dropping a
// connection. Certificates are requested through the same edge (HTTP-01).
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { isAbsolute, join } from 'node:path';
import { resolveInstance } from '../../compose/instance.js';
import { edgeUnits } from '../../compose/platform.js';
import type { EdgeApplied } from '../../backends/haproxy/edge.js';
import { EdgeSet } from '../../backends/haproxy/edge-set.js';
import type { Endpoint, Engine } from '../../engines/engine.js';
import { unitName } from '../../model/stack.js';
import { requireAllProjects, type PlatformDir } from '../../platformdir/load.js';
import { EDGE_HTTPS_PORT, renderHaproxyCfg, type EdgeRoute } from '../../render/haproxy-cfg.js';
import { Secret } from '../../secret.js';
import { instanceNames } from '../../platform-spec/project-schema.js';
import { branchRoutes } from '../../state/branches.js';
import { CertStore } from '../../state/certs.js';
import { maintenanceEntries } from '../../state/maintenance.js';
import { servingAll } from '../../state/serving.js';
import type { CertProgress, CertResult } from './certs.js';

/** Every edge of the platform, driven as one (edge-set.ts). */
export function edgeFor(engine: Engine, pd: PlatformDir): EdgeSet {
  return new EdgeSet(engine, edgeUnits(pd.platform));
}

/**
 * Every declared instance's domain and the Odoo units that serve it, and every
 * branch instance's. A pinned instance's units are the ones its last operation
 * routed to (state/serving.ts); before any, the names units had before releases
 * were named.
 */
export function edgeRoutes(pd: PlatformDir): EdgeRoute[] {
  const routes: EdgeRoute[] = [];
  const recorded = servingAll(pd.dir);
  for (const { spec } of pd.projects.values()) {
    for (const name of instanceNames) {
      if (!spec.instances[name]) continue;
      const inst = resolveInstance(pd.platform, spec, name);
      const servers =
        recorded.get(`${spec.name}/${name}`) ??
        Array.from({ length: inst.placement.replicas }, (_, i) => unitName(inst.stackName, 'odoo', i + 1));
      routes.push({ domain: inst.domain, servers });
    }
  }
  // Branch instances are recorded in the state, not declared (docs/decisions/0020).
  for (const b of branchRoutes(pd.dir, [...pd.projects.keys()]))
    routes.push({ domain: b.domain, servers: [unitName(b.stack, 'odoo', 1)] });
  return routes;
}

/** The edge's configuration as the spec and the state say now: routes, maintenance, certificates held. */
function renderEdge(pd: PlatformDir): { cfg: string; certs: Map<string, Secret>; down: string[] } {
  // A project file that does not load has no routes here: syncing would take its sites offline.
  requireAllProjects(pd, 'updating the edge');
  const routes = edgeRoutes(pd);
  const store = CertStore.open(pd.dir);
  let certs: Map<string, Secret>;
  try {
    const wanted = new Set(routes.map((r) => r.domain));
    // A certificate file is the chain followed by its key, as HAProxy reads it.
    certs = new Map(
      store
        .list()
        .filter((c) => wanted.has(c.domain))
        .map((c) => [c.domain, new Secret(`${c.certPem.trim()}\n${c.keyPem.reveal().trim()}\n`)]),
    );
  } finally {
    store.close();
  }
  const maintenance = new Set(maintenanceEntries(pd.dir).map((m) => m.domain));
  const cfg = renderHaproxyCfg({
    routes: routes.map((r) => (maintenance.has(r.domain) ? { ...r, maintenance: true } : r)),
    certificates: [...certs.keys()],
  });
  return { cfg, certs, down: routes.filter((r) => maintenance.has(r.domain)).map((r) => r.domain) };
}

/** The configuration the state asks for, staged in the edge (nothing live changes); its release id. */
export function writeEdge(engine: Engine, pd: PlatformDir): Promise<string> {
  const r = renderEdge(pd);
  return edgeFor(engine, pd).stage(r.cfg, r.certs, undefined, r.down);
}

/** Written, checked by the edge's haproxy, live: the edge plan's three steps in a row. */
export async function syncEdge(engine: Engine, pd: PlatformDir): Promise<EdgeApplied> {
  const edge = edgeFor(engine, pd);
  const r = renderEdge(pd);
  const id = await edge.stage(r.cfg, r.certs, undefined, r.down);
  const warnings = await edge.check(id);
  const applied = await edge.activate(id);
  return { ...applied, warnings: [...warnings, ...edge.warnings()] };
}

/**
 * The configuration the state asks for, checked and made what every edge loads
 * at its next start, without a reload: after a runtime switch, which changed
 * the running workers only, a restarted edge would route to the units its file
 * last named (gone after an upgrade) and answer 503.
 */
async function persistEdge(engine: Engine, pd: PlatformDir): Promise<void> {
  const edge = edgeFor(engine, pd);
  const r = renderEdge(pd);
  const id = await edge.stage(r.cfg, r.certs, undefined, r.down);
  await edge.check(id);
  await edge.keep(id);
}

/** A staged release live on every edge; edges not running are said in the warnings. */
async function reloadEdge(engine: Engine, pd: PlatformDir, release: string): Promise<EdgeApplied> {
  const edge = edgeFor(engine, pd);
  return { ...(await edge.activate(release)), warnings: edge.warnings() };
}

/** One ACME pass over the domains (all declared ones unless named); the edge answers the challenges. */
async function requestCertificates(
  engine: Engine,
  pd: PlatformDir,
  o: { domains?: string[]; force?: boolean; onEvent?: (e: CertProgress) => void },
): Promise<CertResult[]> {
  // The ACME client loads on use: most commands never ask for a certificate.
  const { ensureCertificates } = await import('./certs.js');
  const edge = edgeFor(engine, pd);
  const acme = pd.platform.acme;
  const caFile = acme.caFile && (isAbsolute(acme.caFile) ? acme.caFile : join(pd.dir, acme.caFile));
  return ensureCertificates({
    platformDir: pd.dir,
    acme,
    domains: o.domains ?? edgeRoutes(pd).map((r) => r.domain),
    http01: { set: (t, k) => edge.setChallenge(t, k), remove: (t) => edge.removeChallenge(t) },
    ...(caFile ? { caCertificates: await readFile(caFile, 'utf8') } : {}),
    skipChallengeVerification: !acme.verifyChallenges,
    ...(o.force ? { force: true } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
}

/** Requests what is missing or due (all declared domains, or the ones named), then serves them. */
export async function certifyThroughEdge(
  engine: Engine,
  pd: PlatformDir,
  o: { domains?: string[]; force?: boolean; onEvent?: (e: CertProgress) => void },
): Promise<CertResult[]> {
  const results = await requestCertificates(engine, pd, o);
  if (results.some(isNew)) await syncEdge(engine, pd);
  return results;
}

/** A certificate the edge does not serve until it is reloaded. */
export function isNew(r: CertResult): boolean {
  return r.action === 'issued' || r.action === 'renewed';
}

/**
 * Resolves once every running edge answers 2xx for the domain's health path,
 * i.e. HAProxy has resolved the instance's new containers and its health checks
 * passed. Until then users would get the edge's 503; a deploy is not done before this.
 */
export async function waitRouted(
  engine: Engine,
  pd: PlatformDir,
  domain: string,
  timeoutMs: number,
): Promise<boolean> {
  const edges = await edgeFor(engine, pd).live();
  const deadline = Date.now() + timeoutMs;
  const routed = new Set<string>();
  while (Date.now() < deadline) {
    for (const { unit } of edges.filter((e) => !routed.has(e.unit))) {
      // Asked each time: the edge may be (re)starting.
      const at = await engine.endpoint(unit, EDGE_HTTPS_PORT).catch(() => undefined);
      const status = at ? await healthStatus(at, domain) : 0;
      if (status >= 200 && status < 300) routed.add(unit);
    }
    if (routed.size === edges.length) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** The edge's answer to the domain's health path over HTTPS; 0 when there is none. */
function healthStatus(at: Endpoint, domain: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const req = httpsRequest(
      // The certificate may not exist yet: reachability is what is probed here.
      {
        host: at.host,
        port: at.port,
        path: '/web/health',
        servername: domain,
        headers: { Host: domain },
        rejectUnauthorized: false,
        timeout: 3000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** What ops need of the edge; the CLI builds it for the engine it holds. */
export interface EdgeControl {
  /** Write, check and reload in a row (syncEdge). */
  sync(pd: PlatformDir): Promise<EdgeApplied>;
  /** The configuration the state asks for, staged in the edge (nothing live changes); its release id. */
  write(pd: PlatformDir): Promise<string>;
  /** HAProxy's own check of a staged release; its warnings. Refused: an error, nothing live changed. */
  check(pd: PlatformDir, release: string): Promise<string[]>;
  /** What the state asks for, made what the edges load when they start, no reload (after a runtime switch). */
  persist(pd: PlatformDir): Promise<void>;
  /** A checked release live, reloaded without dropping a connection; warnings name edges left out. */
  reload(pd: PlatformDir, release: string): Promise<EdgeApplied>;
  /** One ACME pass (certs.ts) over the domains named, or all declared; served once reloaded. */
  requestCertificates(
    pd: PlatformDir,
    o?: { domains?: string[]; force?: boolean; onEvent?: (e: CertProgress) => void },
  ): Promise<CertResult[]>;
  /** Whether any edge of this platform runs (an instance can live without one). */
  running(pd: PlatformDir): Promise<boolean>;
  waitRouted(pd: PlatformDir, domain: string, timeoutMs: number): Promise<boolean>;
  /** requestCertificates, then a reload when any was issued or renewed. */
  certify(
    pd: PlatformDir,
    o?: { domains?: string[]; force?: boolean; onEvent?: (e: CertProgress) => void },
  ): Promise<CertResult[]>;
  /** Puts a domain in maintenance (or out) at once, through the runtime API: no reload. */
  maintenance(pd: PlatformDir, domain: string, on: boolean): Promise<void>;
  /** The edges' control channel: HAProxy runtime API commands, run in order on each running edge; each one's answer. */
  runtime(pd: PlatformDir, commands: readonly string[]): Promise<{ unit: string; answer: string }[]>;
}

/** The edge driven through the engine alone: files copied into its unit, commands run in it. */
export function edgeControl(engine: Engine): EdgeControl {
  return {
    sync: (pd) => syncEdge(engine, pd),
    write: (pd) => writeEdge(engine, pd),
    check: (pd, release) => edgeFor(engine, pd).check(release),
    persist: (pd) => persistEdge(engine, pd),
    reload: (pd, release) => reloadEdge(engine, pd, release),
    requestCertificates: (pd, o = {}) => requestCertificates(engine, pd, o),
    running: async (pd) =>
      (
        await Promise.all(edgeUnits(pd.platform).map((e) => engine.explain(e.unit).catch(() => undefined)))
      ).some((x) => x?.running === true),
    waitRouted: (pd, domain, timeoutMs) => waitRouted(engine, pd, domain, timeoutMs),
    certify: (pd, o = {}) => certifyThroughEdge(engine, pd, o),
    maintenance: (pd, domain, on) => edgeFor(engine, pd).setMaintenance(domain, on),
    runtime: (pd, commands) => edgeFor(engine, pd).runtime(commands),
  };
}
