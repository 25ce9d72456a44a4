// The edge controller: puts a new HAProxy configuration (with its certificates and
// ACME challenges) into the running edge container and reloads it without dropping
// a connection, or refuses it and leaves the edge serving the last good one.
//
// On the edge's volume (/usr/local/etc/haproxy, see images/haproxy):
//   .staging/<id>/   a release being uploaded and checked
//   releases/<id>/   haproxy.cfg, acme.map, default.pem, certs/<domain>.pem
//   current          symlink to the live release, swapped by rename(2)
//
// `apply` copies the release into the edge (Engine.copyInto), then one exec, holding a
// lock on the volume (so two odp processes never interleave): `haproxy -c` on the
// staged release as it will run (-C <release>); on failure the staging is dropped
// and HAProxy's own message is thrown; on success the release moves into
// releases/, `current` is swapped, the servers' state (addresses, health) is
// dumped for the new workers, the master (PID 1) gets SIGUSR2, and the exec waits
// until the runtime API answers from a new worker process. If none shows up,
// `current` is put back and the master's last log lines are thrown.
//
// ACME challenges change often and alone: `setChallenge` rewrites the live
// release's acme.map (so reloads and restarts keep the token) and updates the
// running workers through the runtime API (`add map`), taking effect at once with
// no reload: no old worker is left draining per token, and concurrent issuances
// do not each cost a reload.
import { randomBytes } from 'node:crypto';
import type { Engine, ExecResult, UnitFile } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { Secret } from '../../secret.js';
import {
  EDGE_DIR,
  EDGE_FILES,
  EDGE_SERVER_STATE,
  EDGE_SOCKET,
  certFile,
  isEdgeDomain,
} from '../../render/haproxy-cfg.js';

/** ACME tokens and key authorizations are base64url (RFC 8555 §8.1, §8.3); nothing else reaches a shell or the map. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/;
/** Releases kept on the volume besides the live one, for a look at what ran before. */
const KEEP_RELEASES = 5;

export interface EdgeOptions {
  /** How long a reload may take before it counts as failed (seconds). */
  reloadTimeoutSeconds?: number;
  /** How long to wait for another apply's lock (seconds). */
  lockTimeoutSeconds?: number;
}

export interface EdgeApplied {
  /** The release now live, `releases/<id>`. */
  release: string;
  /** Worker process ids before and after the reload. */
  workerBefore: number;
  workerAfter: number;
  /** HAProxy's warnings about the new configuration (it was loaded anyway). */
  warnings: string[];
}

// Shell run inside the edge; positional parameters carry the values, so nothing is quoted into it.
const prelude = `set -eu
cd ${EDGE_DIR}
mkdir -p .staging releases
exec 9>.lock
if ! flock -w "$LOCK_WAIT" 9; then echo "another change of the edge holds its lock" >&2; exit 75; fi
cli() { printf '%s\\n' "$1" | socat -t 5 stdio unix-connect:${EDGE_SOCKET}; }
worker() { cli 'show info' | sed -n 's/^Pid: //p'; }
`;

const applyScript = `${prelude}
id=$1
stage=.staging/$id
# Uploads of applies that died before their check (never live).
find .staging -mindepth 1 -maxdepth 1 -mmin +10 -exec rm -rf {} +
cp default.pem "$stage/${EDGE_FILES.defaultCert}"
# No challenges given: the live ones carry over (read under the lock, so none set meanwhile is lost).
for map in ${EDGE_FILES.acmeMap} ${EDGE_FILES.maintenanceMap}; do
  if [ ! -f "$stage/$map" ]; then cp "current/$map" "$stage/$map" 2>/dev/null || : >"$stage/$map"; fi
done
if ! out=$(haproxy -c -C "${EDGE_DIR}/$stage" -f "${EDGE_DIR}/$stage/${EDGE_FILES.cfg}" 2>&1); then
  rm -rf "$stage"
  printf '%s\\n' "$out"
  exit 3
fi
printf '%s\\n' "$out" | grep -E '^\\[(WARNING|ALERT)\\]' | sed 's/^/warning: /' || true
before=$(worker)
previous=$(readlink current || true)
mv "$stage" "releases/$id"
ln -sfn "releases/$id" .current.new
mv -T .current.new current
# A server whose name now points elsewhere (another unit in its slot) must not
# get its old address and name back from the state file: HAProxy applies the
# file over the configuration. Such lines are dropped; the server resolves anew.
if cli 'show servers state' >${EDGE_SERVER_STATE}.new; then
  awk 'NR == FNR { if ($1 == "backend") b = $2; if ($1 == "server") { split($3, h, ":"); want[b " " $2] = h[1] }; next }
       /^[0-9]+ / { k = $2 " " $4; if ((k in want) && $18 != "-" && $18 != want[k]) next }
       { print }' "releases/$id/${EDGE_FILES.cfg}" ${EDGE_SERVER_STATE}.new >${EDGE_SERVER_STATE}
  rm -f ${EDGE_SERVER_STATE}.new
else
  rm -f ${EDGE_SERVER_STATE}.new
fi
kill -USR2 1
i=0
while [ "$i" -lt "$RELOAD_TRIES" ]; do
  sleep 0.1
  now=$(worker || true)
  if [ -n "$now" ] && [ "$now" != "$before" ]; then
    echo "reloaded $before $now"
    ls -1 releases | grep '^r[0-9]' | sort | head -n -${KEEP_RELEASES + 1} | while read -r old; do
      [ "releases/$old" = "releases/$id" ] || rm -rf "releases/$old"
    done
    exit 0
  fi
  i=$((i + 1))
done
if [ -n "$previous" ]; then ln -sfn "$previous" .current.new && mv -T .current.new current; fi
echo "no new worker after the reload (worker still $before); put $previous back"
exit 4
`;

// One entry of a map ($4: acme.map or maintenance.map) set or deleted in the live
// release's file (reloads and restarts keep it) and in the running workers.
const mapScript = `${prelude}
map=current/$4
touch "$map"
{ grep -v "^$1 " "$map" || true; if [ "$2" = set ]; then printf '%s %s\\n' "$1" "$3"; fi; } >"$map.new"
mv "$map.new" "$map"
cli "del map $4 $1" >/dev/null || true
if [ "$2" = set ]; then
  out=$(cli "add map $4 $1 $3")
  if [ -n "$out" ]; then echo "$out" >&2; exit 5; fi
fi
`;

export class Edge {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly reloadTries: number;
  private readonly lockWait: number;

  constructor(
    readonly engine: Engine,
    readonly containerName: string,
    opts: EdgeOptions = {},
  ) {
    this.reloadTries = Math.ceil((opts.reloadTimeoutSeconds ?? 15) * 10);
    this.lockWait = opts.lockTimeoutSeconds ?? 120;
  }

  /**
   * Check `cfg` with its certificates (`<domain>` → chain + key, PEM) and challenges
   * as one release, make it live and reload hitlessly. Refused (OdpError ENGINE,
   * HAProxy's message) when the check fails: the edge keeps serving the last good
   * release. `acme` replaces the pending challenges; without it they carry over.
   */
  apply(
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme?: ReadonlyMap<string, string>,
    maintenance?: readonly string[],
  ): Promise<EdgeApplied> {
    return this.serial(() => this.applyNow(cfg, certs, acme, maintenance));
  }

  /** Puts a domain in maintenance, or takes it out, at once: no reload. */
  setMaintenance(domain: string, on: boolean): Promise<void> {
    if (!isEdgeDomain(domain)) throw new OdpError('INTERNAL', `"${domain}": not a domain name`);
    return this.serial(() => this.mapEntry(EDGE_FILES.maintenanceMap, domain, on ? 'set' : 'del', '1'));
  }

  /**
   * Commands to HAProxy's runtime API, run in order on one connection (a line
   * of commands separated by `;`, as the API reads them); their answers.
   */
  async runtime(commands: readonly string[]): Promise<string> {
    if (commands.some((c) => /[\n\r;]/.test(c)))
      throw new OdpError('INTERNAL', 'a runtime command with ; or a newline');
    const r = await this.exec([
      'sh',
      '-c',
      `printf '%s\\n' "$1" | socat -t 5 stdio unix-connect:${EDGE_SOCKET}`,
      'odp-edge-runtime',
      commands.join('; '),
    ]);
    if (r.exitCode !== 0) {
      throw new OdpError('ENGINE', `the edge's runtime API did not answer (exit ${r.exitCode})`, {
        detail: r.stderr.trim(),
      });
    }
    return r.stdout;
  }

  /** Answer `/.well-known/acme-challenge/<token>` with `keyAuth` over plain HTTP, at once. */
  setChallenge(token: string, keyAuth: string): Promise<void> {
    checkChallenge(token, keyAuth);
    return this.serial(() => this.mapEntry(EDGE_FILES.acmeMap, token, 'set', keyAuth));
  }

  removeChallenge(token: string): Promise<void> {
    checkChallenge(token);
    return this.serial(() => this.mapEntry(EDGE_FILES.acmeMap, token, 'del', ''));
  }

  /** The live configuration's text. */
  async current(): Promise<string> {
    const r = await this.exec(['cat', `${EDGE_DIR}/current/${EDGE_FILES.cfg}`]);
    if (r.exitCode !== 0) {
      throw new OdpError('ENGINE', `cannot read the edge's configuration in ${this.containerName}`, {
        detail: r.stderr.trim(),
      });
    }
    return r.stdout;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme: ReadonlyMap<string, string> | undefined,
    maintenance: readonly string[] | undefined,
  ): Promise<EdgeApplied> {
    for (const domain of certs.keys()) {
      if (!isEdgeDomain(domain))
        throw new OdpError('INTERNAL', `certificate for "${domain}": not a domain name`);
    }
    for (const [token, keyAuth] of acme ?? []) checkChallenge(token, keyAuth);
    const id = releaseId();
    const stage = `.staging/${id}`;
    const files: UnitFile[] = [
      { path: '.staging', mode: 0o755 },
      { path: stage, mode: 0o755 },
      { path: `${stage}/${EDGE_FILES.cfg}`, content: cfg, mode: 0o644 },
      ...(acme
        ? [
            {
              path: `${stage}/${EDGE_FILES.acmeMap}`,
              content: [...acme].map(([t, k]) => `${t} ${k}\n`).join(''),
              mode: 0o644,
            },
          ]
        : []),
      ...(maintenance
        ? [
            {
              path: `${stage}/${EDGE_FILES.maintenanceMap}`,
              content: maintenance.map((d) => `${d} 1\n`).join(''),
              mode: 0o644,
            },
          ]
        : []),
      { path: `${stage}/${EDGE_FILES.certs}`, mode: 0o700 },
      ...[...certs].map(([domain, pem]) => ({
        path: `${stage}/${certFile(domain)}`,
        content: pem instanceof Secret ? pem.reveal() : pem,
        mode: 0o600,
      })),
    ];
    try {
      await this.engine.copyInto(this.containerName, EDGE_DIR, files);
    } catch (e) {
      throw await this.engineError(`cannot upload the new configuration to ${this.containerName}`, e);
    }
    const r = await this.exec(['sh', '-c', applyScript, 'odp-edge-apply', id], {
      LOCK_WAIT: String(this.lockWait),
      RELOAD_TRIES: String(this.reloadTries),
    });
    if (r.exitCode === 3) {
      const alerts = r.stdout
        .split('\n')
        .filter((l) => /\[ALERT\]/.test(l))
        .map((l) => l.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*/, '').trim());
      const staged = `${EDGE_DIR}/.staging/${id}/`;
      const first = (alerts.find((l) => !/^config : (Fatal errors|Error\(s\) found)/.test(l)) ?? alerts[0])
        ?.replace(/^config : /, '')
        .split(staged)
        .join('');
      throw new OdpError(
        'ENGINE',
        `the edge refused the new configuration: ${first ?? 'haproxy -c failed'}`,
        {
          detail: r.stdout.trim().split(staged).join(''),
          hint: 'Nothing was loaded: the edge keeps serving its last good configuration.',
        },
      );
    }
    if (r.exitCode !== 0) {
      const logs = await this.engine.lastLogs(this.containerName, 20).catch(() => '');
      throw new OdpError(
        'ENGINE',
        `the edge did not reload: ${lastLine(r.stdout) || lastLine(r.stderr) || `exit ${r.exitCode}`}`,
        {
          detail: [r.stderr.trim(), logs].filter(Boolean).join('\n'),
          hint: 'The edge keeps serving its last good configuration.',
        },
      );
    }
    const m = /^reloaded (\d+) (\d+)$/m.exec(r.stdout);
    return {
      release: `releases/${id}`,
      workerBefore: Number(m?.[1] ?? 0),
      workerAfter: Number(m?.[2] ?? 0),
      warnings: r.stdout
        .split('\n')
        .filter((l) => l.startsWith('warning: '))
        .map((l) => l.slice('warning: '.length).replace(/^\[\w+\]\s*\(\d+\)\s*:\s*(config : )?/, '')),
    };
  }

  private async mapEntry(map: string, key: string, op: 'set' | 'del', value: string): Promise<void> {
    const r = await this.exec(['sh', '-c', mapScript, 'odp-edge-map', key, op, value, map], {
      LOCK_WAIT: String(this.lockWait),
    });
    if (r.exitCode !== 0) {
      throw new OdpError(
        'ENGINE',
        `the edge did not take ${map} entry ${key}: ${lastLine(r.stderr) || `exit ${r.exitCode}`}`,
        {
          detail: r.stderr.trim(),
        },
      );
    }
  }

  /** The engine's error, with the way out when the edge is not running (which is the usual cause). */
  private async engineError(message: string, e: unknown): Promise<OdpError> {
    // The engine's own errors already say what failed, and in which unit.
    const text =
      e instanceof OdpError ? e.message : `${message}: ${e instanceof Error ? e.message : String(e)}`;
    const edge = await this.engine.explain(this.containerName).catch(() => undefined);
    return new OdpError('ENGINE', text, {
      cause: e,
      ...(edge?.running
        ? {}
        : {
            hint: 'The edge runs in the platform stack; bring it up first (its container must be running).',
          }),
    });
  }

  /** Runs `cmd` in the edge: stdout and stderr apart, and its exit code. */
  private async exec(cmd: string[], env: Record<string, string> = {}): Promise<ExecResult> {
    try {
      return await this.engine.exec(this.containerName, cmd, { env });
    } catch (e) {
      throw await this.engineError(`cannot run ${cmd[0]} in ${this.containerName}`, e);
    }
  }
}

function checkChallenge(token: string, keyAuth?: string): void {
  if (!TOKEN.test(token)) throw new OdpError('INTERNAL', `ACME token "${token}": not base64url`);
  if (keyAuth !== undefined && !KEY_AUTHORIZATION.test(keyAuth)) {
    throw new OdpError('INTERNAL', `ACME key authorization for token ${token}: not <token>.<thumbprint>`);
  }
}

/** `r<ms since epoch, 13 digits>-<random>`: sorts in time order, unique. */
function releaseId(): string {
  return `r${String(Date.now()).padStart(13, '0')}-${randomBytes(3).toString('hex')}`;
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.trim() ?? '';
}
