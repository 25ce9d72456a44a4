// The edge controller: puts a new HAProxy configuration (with its certificates and
// ACME challenges) into the running edge container and reloads it without dropping
// a connection, or refuses it and leaves the edge serving the last good one.
//
// On the edge's volume (/usr/local/etc/haproxy, see images/haproxy):
//   .staging/<id>/   a release being uploaded and checked
//   releases/<id>/   haproxy.cfg, acme.map, default.pem, certs/<domain>.pem
//   current          symlink to the live release, swapped by rename(2)
//
// A release goes live in three calls, the steps of an edge plan (src/plan/edge.ts):
// `stage` copies it into the edge (Engine.copyInto); `check` runs `haproxy -c` on
// it as it will run (-C <release>), and on failure the staging is dropped and
// HAProxy's own message is thrown; `activate` moves it into releases/, swaps
// `current`, dumps the servers' state (addresses, health) for the new workers,
// sends the master (PID 1) SIGUSR2 and waits until the runtime API answers from a
// new worker process; if none shows up, `current` is put back and the master's
// last log lines are thrown. `apply` is the three in a row. Each runs holding a
// lock on the volume (edge-scripts.ts), so two odp processes never interleave.
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
import { EDGE_DIR, EDGE_FILES, EDGE_SOCKET, certFile, isEdgeDomain } from '../../render/haproxy-cfg.js';
import { activateScript, checkScript, mapScript } from './edge-scripts.js';

/** ACME tokens and key authorizations are base64url (RFC 8555 §8.1, §8.3); nothing else reaches a shell or the map. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/;

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
  async apply(
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme?: ReadonlyMap<string, string>,
    maintenance?: readonly string[],
  ): Promise<EdgeApplied> {
    const id = await this.stage(cfg, certs, acme, maintenance);
    const warnings = await this.check(id);
    return { ...(await this.activate(id)), warnings };
  }

  /**
   * Uploads a release into the edge's staging area, nothing live changed; its
   * id (`id` when given: several edges stage one release under one id).
   */
  stage(
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme?: ReadonlyMap<string, string>,
    maintenance?: readonly string[],
    id: string = releaseId(),
  ): Promise<string> {
    checkReleaseId(id);
    return this.serial(() => this.stageNow(id, cfg, certs, acme, maintenance));
  }

  /**
   * HAProxy's own check of a staged release, as it will run; its warnings.
   * Refused: OdpError ENGINE with HAProxy's message, the staging dropped.
   */
  check(id: string): Promise<string[]> {
    return this.serial(() => this.checkNow(id));
  }

  /** Makes a checked release live and reloads without dropping a connection. */
  activate(id: string): Promise<Omit<EdgeApplied, 'warnings'>> {
    return this.serial(() => this.activateNow(id));
  }

  /**
   * Makes a checked release the one the edge loads at its next start, without
   * a reload: for a release that says what the runtime API already made live
   * (a switch of an instance's units), so a restarted edge routes the same.
   */
  keep(id: string): Promise<void> {
    return this.serial(async () => {
      checkReleaseId(id);
      const r = await this.exec(['sh', '-c', activateScript, 'odp-edge-keep', id], {
        LOCK_WAIT: String(this.lockWait),
        RELOAD: '0',
      });
      if (r.exitCode !== 0) throw await this.notReloaded(r);
    });
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

  private async stageNow(
    id: string,
    cfg: string,
    certs: ReadonlyMap<string, string | Secret>,
    acme: ReadonlyMap<string, string> | undefined,
    maintenance: readonly string[] | undefined,
  ): Promise<string> {
    for (const domain of certs.keys()) {
      if (!isEdgeDomain(domain))
        throw new OdpError('INTERNAL', `certificate for "${domain}": not a domain name`);
    }
    for (const [token, keyAuth] of acme ?? []) checkChallenge(token, keyAuth);
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
    return id;
  }

  private async checkNow(id: string): Promise<string[]> {
    checkReleaseId(id);
    const r = await this.exec(['sh', '-c', checkScript, 'odp-edge-check', id], {
      LOCK_WAIT: String(this.lockWait),
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
    if (r.exitCode !== 0) throw await this.notReloaded(r);
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('warning: '))
      .map((l) => l.slice('warning: '.length).replace(/^\[\w+\]\s*\(\d+\)\s*:\s*(config : )?/, ''));
  }

  private async activateNow(id: string): Promise<Omit<EdgeApplied, 'warnings'>> {
    checkReleaseId(id);
    const r = await this.exec(['sh', '-c', activateScript, 'odp-edge-activate', id], {
      LOCK_WAIT: String(this.lockWait),
      RELOAD_TRIES: String(this.reloadTries),
    });
    if (r.exitCode !== 0) throw await this.notReloaded(r);
    const m = /^reloaded (\d+) (\d+)$/m.exec(r.stdout);
    return {
      release: `releases/${id}`,
      workerBefore: Number(m?.[1] ?? 0),
      workerAfter: Number(m?.[2] ?? 0),
    };
  }

  /** A script that failed otherwise than by HAProxy's refusal: its words and the edge's last log lines. */
  private async notReloaded(r: ExecResult): Promise<OdpError> {
    const logs = await this.engine.lastLogs(this.containerName, 20).catch(() => '');
    return new OdpError(
      'ENGINE',
      `the edge did not reload: ${lastLine(r.stdout) || lastLine(r.stderr) || `exit ${r.exitCode}`}`,
      {
        detail: [r.stderr.trim(), logs].filter(Boolean).join('\n'),
        hint: 'The edge keeps serving its last good configuration.',
      },
    );
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

const RELEASE_ID = /^r\d{13}-[0-9a-f]{6}$/;

/** `r<ms since epoch, 13 digits>-<random>`: sorts in time order, unique. */
export function releaseId(): string {
  return `r${String(Date.now()).padStart(13, '0')}-${randomBytes(3).toString('hex')}`;
}

/** Only ids `stage` made reach the scripts (a path under .staging/). */
function checkReleaseId(id: string): void {
  if (!RELEASE_ID.test(id)) throw new OdpError('INTERNAL', `"${id}": not an edge release id`);
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.trim() ?? '';
}
