// The edge's configuration, odp's own, rendered from the routes the spec implies:
// HAProxy 2.6 terminating TLS for every instance's domain and routing by Host to
// that instance's nginx sidecar(s), answering ACME HTTP-01 challenges itself,
// sending the rest of plain HTTP to HTTPS, and refusing the database manager
// everywhere. Pure: text in, text out; `haproxy -c` checks it before it is loaded
// (src/backends/haproxy/edge.ts).
//
// Every file the configuration names is relative to its release directory: HAProxy
// runs with `-C <dir>`, so a staged release (haproxy.cfg, acme.map, default.pem,
// certs/<domain>.pem side by side) is checked exactly as it will run, then made
// live as a whole by one symlink swap.
import { OdpError } from '../errors.js';

export interface EdgeRoute {
  /** The instance's domain, matched against the Host header (port stripped) and SNI. */
  domain: string;
  /**
   * Unit names of the instance's Odoo replicas (their nginx sidecar answers in
   * their network namespace), reached on port 80. Each is a slot `s<n>` whose
   * name the runtime API can point at another unit without a reload.
   */
  servers: string[];
  /** Answer 503 with Retry-After and a small page instead of proxying. */
  maintenance?: boolean;
}

export interface HaproxyCfgInput {
  routes: EdgeRoute[];
  /** Domains that have `certs/<domain>.pem`; the others are served the default certificate. */
  certificates: string[];
}

/** The volume the edge keeps its releases on, and where HAProxy runs from. */
export const EDGE_DIR = '/usr/local/etc/haproxy';
/** Relative to a release directory. */
export const EDGE_FILES = {
  cfg: 'haproxy.cfg',
  acmeMap: 'acme.map',
  /** Domains in maintenance (`<domain> 1`), changed at runtime with no reload. */
  maintenanceMap: 'maintenance.map',
  defaultCert: 'default.pem',
  certs: 'certs',
} as const;
/** The workers' runtime API (admin level, root only; inside the container). */
export const EDGE_SOCKET = '/var/run/haproxy.sock';
/** Server addresses and health, dumped before a reload so the new workers start where the old ones were. */
export const EDGE_SERVER_STATE = '/var/lib/haproxy/server-state';
/**
 * A route's servers are slots, not units: an upgrade points slot `s<n>` at the
 * new release's unit (`set server … fqdn`, `addr`) through the runtime API, and
 * the slot's name stays, so the edge needs no reload (docs/decisions/0058).
 */
export const serverSlot = (index: number): string => `s${index + 1}`;

export const EDGE_HEALTH_PATH = '/.odp/edge-health';
/** The port HTTPS is served on inside the edge (published on services.edge.httpsPort). */
export const EDGE_HTTPS_PORT = 443;
export const ACME_PREFIX = '/.well-known/acme-challenge/';
/** Seconds a client is asked to wait before retrying a site in maintenance. */
export const MAINTENANCE_RETRY_AFTER = 300;

/**
 * The edge's own checks of its servers, the one thing routing waits on
 * (docs/decisions/0051): an HTTP request from HAProxy, no process in any
 * container. A replica that stops answering leaves the rotation within
 * `inter + fall × (longest check) + (fall − 1) × fastinter` = 0.75 + 2 × 1 + 0.25 = 3 s:
 * a check either waits for a connection the address never accepts (a killed
 * container; bounded by min(timeout connect, inter)) or for an answer that never
 * comes (a paused one; bounded by `timeout check`).
 */
export interface EdgeCheck {
  interMs: number;
  fastinterMs: number;
  downinterMs: number;
  fall: number;
  rise: number;
  timeoutMs: number;
  connectTimeoutMs: number;
}

export const EDGE_CHECK: Readonly<EdgeCheck> = {
  interMs: 750,
  /** While a server goes from up to down (and back), its checks come this often. */
  fastinterMs: 250,
  /** A server down is checked less often; `rise` successes bring it back. */
  downinterMs: 2000,
  fall: 2,
  rise: 2,
  timeoutMs: 1000,
  connectTimeoutMs: 5000,
};

/** The longest a replica that stops answering stays in the rotation, by the rule above. */
export function edgeEvictionBoundMs(c: Readonly<EdgeCheck> = EDGE_CHECK): number {
  const check = Math.max(Math.min(c.connectTimeoutMs, c.interMs), c.timeoutMs);
  return c.interMs + c.fall * check + (c.fall - 1) * c.fastinterMs;
}

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})+$`);
/** Docker's container-name alphabet. */
const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export function isEdgeDomain(domain: string): boolean {
  return DOMAIN.test(domain);
}

/** `certs/<domain>.pem`: the file HAProxy loads for the domain (picked by SNI). */
export function certFile(domain: string): string {
  return `${EDGE_FILES.certs}/${domain}.pem`;
}

/** A backend per domain; HAProxy names allow letters, digits, '-', '_', '.' and ':'. */
export function backendName(domain: string): string {
  return `site_${domain}`;
}

const jsonLog = [
  '{"time":"%trg","client":"%ci","frontend":"%ft","backend":"%b","server":"%s",',
  '"host":"%[var(txn.host),json(utf8s)]","method":"%HM","uri":"%HU","status":%ST,"bytes":%B,',
  '"time_request":%TR,"time_queue":%Tw,"time_connect":%Tc,"time_response":%Tr,"time_total":%Ta,',
  '"termination":"%ts","retries":%rc}',
].join('');

const ciphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

function validate(input: HaproxyCfgInput): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of input.routes) {
    if (!isEdgeDomain(r.domain)) problems.push(`route "${r.domain}": not a lower-case domain name`);
    if (seen.has(r.domain)) problems.push(`route "${r.domain}": listed twice`);
    seen.add(r.domain);
    const names = new Set<string>();
    for (const s of r.servers) {
      if (!CONTAINER.test(s)) problems.push(`route "${r.domain}": "${s}" is not a container name`);
      if (names.has(s)) problems.push(`route "${r.domain}": server "${s}" listed twice`);
      names.add(s);
    }
  }
  for (const c of input.certificates) {
    if (!isEdgeDomain(c)) problems.push(`certificate "${c}": not a lower-case domain name`);
  }
  if (problems.length > 0) {
    throw new OdpError('INTERNAL', `cannot render the edge configuration: ${problems.join('; ')}`, {
      problems: problems.map((message) => ({ message })),
    });
  }
}

// No double quotes, backslashes, '#' or '%' but the host's: the page is a quoted log-format string.
const MAINTENANCE_PAGE =
  '<!doctype html><html lang=en><head><meta charset=utf-8><title>Maintenance</title></head>' +
  '<body><h1>Under maintenance</h1><p>%[var(txn.host)] is being updated. ' +
  'Please try again in a few minutes.</p></body></html>';

/** The maintenance map's text for the routes in maintenance. */
export function maintenanceMap(routes: EdgeRoute[]): string {
  return routes
    .filter((r) => r.maintenance)
    .map((r) => `${r.domain} 1\n`)
    .join('');
}

export function renderHaproxyCfg(input: HaproxyCfgInput): string {
  validate(input);
  const routes = [...input.routes].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  const withCert = new Set(input.certificates);
  const covered = routes.filter((r) => withCert.has(r.domain)).map((r) => r.domain);
  const defaultOnly = routes.filter((r) => !withCert.has(r.domain)).map((r) => r.domain);
  const maintenance = routes.filter((r) => r.maintenance);

  const L: string[] = [];
  const line = (s = ''): void => {
    L.push(s);
  };

  line('# Rendered by odp; do not edit: change the spec and apply.');
  line('# Paths are relative to the release directory HAProxy runs in (-C).');
  line(`# routes: ${routes.length}, in maintenance: ${maintenance.length}`);
  line(`# own certificate: ${covered.join(' ') || '(none)'}`);
  line(`# default certificate until theirs is issued: ${defaultOnly.join(' ') || '(none)'}`);
  line();
  line('global');
  line('    master-worker');
  line('    log stdout format raw local0 info');
  line(`    stats socket ${EDGE_SOCKET} mode 600 level admin expose-fd listeners`);
  line('    stats timeout 30s');
  line(`    server-state-file ${EDGE_SERVER_STATE}`);
  line('    # After a reload, old workers finish what they serve; none lives longer than this,');
  line('    # and none survives more than this many reloads.');
  line('    hard-stop-after 30m');
  line('    mworker-max-reloads 50');
  line('    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets');
  line(`    ssl-default-bind-ciphers ${ciphers}`);
  line(
    '    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
  );
  line('    tune.ssl.default-dh-param 2048');
  line();
  line("# Docker's embedded DNS: instances are found by container name, and found again");
  line('# when they are recreated with another address.');
  line('resolvers docker');
  line('    nameserver docker 127.0.0.11:53');
  line('    accepted_payload_size 8192');
  line('    resolve_retries 3');
  line('    timeout resolve 1s');
  line('    timeout retry 1s');
  line('    hold valid 10s');
  line('    hold other 10s');
  line('    hold refused 10s');
  line('    hold nx 10s');
  line('    hold timeout 10s');
  line('    hold obsolete 10s');
  line();
  line('defaults');
  line('    mode http');
  line('    log global');
  line(`    log-format '${jsonLog}'`);
  line('    option dontlognull');
  line('    # A reload closes no idle keep-alive connection (a client could be sending on it):');
  line('    # the old worker answers its next request with "Connection: close" instead.');
  line('    option idle-close-on-response');
  line('    # No idle connection to a sidecar is kept: an nginx that stops (an old release');
  line('    # retired, SIGQUIT) closes its idle keep-alive connections, and a request the edge');
  line('    # sent on one at that instant would be lost. A new connection per request on the');
  line("    # host's own network costs far less than Odoo's answer.");
  line('    option http-server-close');
  line('    # A new worker starts with the addresses and health its predecessor had for each');
  line('    # server (dumped before every reload; init-addr last), then follows DNS; a server');
  line('    # never seen (a new instance, a fresh start) waits for DNS: init-addr none.');
  line('    load-server-state-from-file global');
  line('    timeout connect 5s');
  line('    timeout client 60s');
  line('    timeout client-fin 10s');
  line('    timeout http-request 15s');
  line('    timeout http-keep-alive 15s');
  line('    timeout queue 30s');
  line('    # As long as the sidecar waits for Odoo (reports, imports); websockets idle for 1h.');
  line('    timeout server 6h');
  line('    timeout tunnel 1h');
  line('    retries 3');
  line('    option redispatch 1');
  line('    # Sent again, to another replica: a request that found no connection, got an empty or');
  line("    # broken answer, or the sidecar's 502 (it could not reach its Odoo: stopped, frozen,");
  line('    # its name not answered). Past the connection, only GET and HEAD are (each backend).');
  line('    retry-on conn-failure empty-response junk-response 502');
  line();
  line('frontend http');
  line('    bind :80');
  line(`    monitor-uri ${EDGE_HEALTH_PATH}`);
  line(`    # ACME HTTP-01: the key authorization of a pending token, from ${EDGE_FILES.acmeMap}`);
  line('    # (kept up to date at run time through the runtime API, without reloads).');
  line(
    `    http-request set-var(txn.acme) path,field(4,/),map(${EDGE_FILES.acmeMap}) ` +
      `if { path_reg ^${ACME_PREFIX.replace(/\./g, '\\.')}[A-Za-z0-9_-]+$ }`,
  );
  line(
    '    http-request return status 200 content-type text/plain lf-string "%[var(txn.acme)]" if { var(txn.acme) -m found }',
  );
  line(
    '    http-request return status 404 content-type text/plain string "unknown challenge" ' +
      `if { path_beg ${ACME_PREFIX} }`,
  );
  line('    http-request set-var(txn.host) hdr(host),lower,regsub(:[0-9]+$,)');
  line(
    '    http-request return status 400 content-type text/plain string "no host" if !{ var(txn.host) -m found }',
  );
  line('    http-request redirect location https://%[var(txn.host)]%[pathq] code 301');
  line();
  line('frontend https');
  line(
    `    bind :${EDGE_HTTPS_PORT} ssl crt ${EDGE_FILES.defaultCert} crt ${EDGE_FILES.certs}/ alpn h2,http/1.1`,
  );
  line('    http-request set-var(txn.host) hdr(host),lower,regsub(:[0-9]+$,)');
  line('    # The certificate was chosen by SNI: a request for another site goes on another connection.');
  line(
    '    http-request return status 421 content-type text/plain string "misdirected request" ' +
      'if { ssl_fc_has_sni } !{ ssl_fc_sni,lower,strcmp(txn.host) eq 0 }',
  );
  line('    # The database manager lists, drops and restores databases: never exposed.');
  line('    http-request deny deny_status 403 if { path,url_dec -m reg ^/+web/+database }');
  // Sites in maintenance are listed in a map that the runtime API changes at
  // once (`add map`/`del map`): entering and leaving maintenance costs no reload,
  // which would close idle keep-alive connections (docs/decisions/0058).
  line(
    `    http-request return status 503 content-type "text/html; charset=utf-8" ` +
      `hdr Retry-After ${MAINTENANCE_RETRY_AFTER} lf-string "${MAINTENANCE_PAGE}" ` +
      `if { var(txn.host),map(${EDGE_FILES.maintenanceMap}) -m found }`,
  );
  line('    http-request del-header X-Forwarded-For');
  line('    http-request set-header X-Forwarded-Proto https');
  line('    option forwardfor');
  line('    http-after-response set-header Strict-Transport-Security "max-age=31536000; includeSubDomains"');
  for (const r of routes) {
    line(`    use_backend ${backendName(r.domain)} if { var(txn.host) -m str ${r.domain} }`);
  }
  line('    default_backend unknown_host');
  line();
  line('backend unknown_host');
  line('    http-request return status 404 content-type text/plain string "no site here"');
  for (const r of routes) {
    // A site in maintenance keeps its backend: its servers stay resolved and
    // health-checked, so the edge routes to them the moment maintenance ends.
    line();
    line(`backend ${backendName(r.domain)}`);
    line('    balance roundrobin');
    // Through the sidecar to Odoo: the whole route. A failed replica leaves the
    // rotation within 3 s (EDGE_CHECK); requests on the way are redispatched.
    line('    option httpchk');
    line(`    http-check send meth GET uri /web/health ver HTTP/1.1 hdr Host ${r.domain}`);
    // A POST may have reached Odoo before its answer was lost: never sent twice.
    line('    http-request disable-l7-retry if !METH_GET !METH_HEAD');
    line('    http-check expect status 200');
    line(`    timeout check ${EDGE_CHECK.timeoutMs}ms`);
    const c = EDGE_CHECK;
    const check =
      `check inter ${c.interMs}ms fastinter ${c.fastinterMs}ms downinter ${c.downinterMs}ms ` +
      `fall ${c.fall} rise ${c.rise}`;
    for (const [i, s] of r.servers.entries()) {
      line(
        `    server ${serverSlot(i)} ${s}:80 ${check} resolvers docker resolve-prefer ipv4 init-addr last,none`,
      );
    }
  }
  line();
  return L.join('\n');
}
