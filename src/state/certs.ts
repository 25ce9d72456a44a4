// Certificates, ACME accounts and what happened to each domain, in the
// platform's state database: they survive restarts, and a recreated instance
// finds its certificate here instead of asking the CA again. Private keys live
// only in this database (mode 0600) and leave it as Secrets, which print as a mask.
import { chmodSync, existsSync } from 'node:fs';
import { MASK, Secret } from '../secret.js';
import { openState, type StateDb } from './db.js';

export interface CertificateInput {
  /** The chain, leaf first. */
  certPem: string;
  keyPem: Secret | string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** The ACME directory that issued it. */
  directory: string;
}

export interface StoredCertificate extends Omit<CertificateInput, 'keyPem'> {
  domain: string;
  keyPem: Secret;
  updatedAt: Date;
}

export interface AcmeAccount {
  directory: string;
  email: string;
  keyPem: Secret;
  /** Set once the server has registered the key. */
  url: string | undefined;
  createdAt: Date;
}

export type CertOutcome = 'issued' | 'renewed' | 'failed' | 'deferred';

export interface CertEventRecord {
  id: number;
  domain: string;
  at: Date;
  outcome: CertOutcome;
  detail: string | undefined;
  retryAfter: Date | undefined;
}

interface CertRow {
  domain: string;
  cert_pem: string;
  key_pem: string;
  not_before: string;
  not_after: string;
  issuer: string;
  directory: string;
  updated_at: string;
}

interface AccountRow {
  directory: string;
  email: string;
  key_pem: string;
  url: string | null;
  created_at: string;
}

interface EventRow {
  id: number;
  domain: string;
  at: string;
  outcome: CertOutcome;
  detail: string | null;
  retry_after: string | null;
}

const reveal = (k: Secret | string) => (typeof k === 'string' ? k : k.reveal());

/** Whatever reaches the events table is text for people: never a key. */
function scrub(text: string): string {
  return text.replace(
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    MASK,
  );
}

export class CertStore {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
    restrictMode(db.name);
  }

  static open(platformDir: string): CertStore {
    return new CertStore(openState(platformDir));
  }

  close(): void {
    this.#db.close();
  }

  get(domain: string): StoredCertificate | undefined {
    const row = this.#db.prepare('SELECT * FROM certificates WHERE domain = ?').get(domain) as
      CertRow | undefined;
    return row && certFromRow(row);
  }

  put(domain: string, cert: CertificateInput, now: Date = new Date()): void {
    this.#db
      .prepare(
        `INSERT INTO certificates (domain, cert_pem, key_pem, not_before, not_after, issuer, directory, updated_at)
         VALUES (@domain, @cert_pem, @key_pem, @not_before, @not_after, @issuer, @directory, @updated_at)
         ON CONFLICT (domain) DO UPDATE SET cert_pem = excluded.cert_pem, key_pem = excluded.key_pem,
           not_before = excluded.not_before, not_after = excluded.not_after, issuer = excluded.issuer,
           directory = excluded.directory, updated_at = excluded.updated_at`,
      )
      .run({
        domain,
        cert_pem: cert.certPem,
        key_pem: reveal(cert.keyPem),
        not_before: cert.notBefore.toISOString(),
        not_after: cert.notAfter.toISOString(),
        issuer: cert.issuer,
        directory: cert.directory,
        updated_at: now.toISOString(),
      });
  }

  list(): StoredCertificate[] {
    return (this.#db.prepare('SELECT * FROM certificates ORDER BY domain').all() as CertRow[]).map(
      certFromRow,
    );
  }

  account(directory: string): AcmeAccount | undefined {
    const row = this.#db.prepare('SELECT * FROM acme_accounts WHERE directory = ?').get(directory) as
      AccountRow | undefined;
    if (!row) return undefined;
    return {
      directory: row.directory,
      email: row.email,
      keyPem: new Secret(row.key_pem),
      url: row.url ?? undefined,
      createdAt: new Date(row.created_at),
    };
  }

  /** Creates the directory's account, or updates its email and URL; the key of an existing account never changes. */
  saveAccount(
    a: { directory: string; email: string; keyPem: Secret | string; url?: string },
    now = new Date(),
  ): void {
    this.#db
      .prepare(
        `INSERT INTO acme_accounts (directory, email, key_pem, url, created_at)
         VALUES (@directory, @email, @key_pem, @url, @created_at)
         ON CONFLICT (directory) DO UPDATE SET email = excluded.email, url = COALESCE(excluded.url, acme_accounts.url)`,
      )
      .run({
        directory: a.directory,
        email: a.email,
        key_pem: reveal(a.keyPem),
        url: a.url ?? null,
        created_at: now.toISOString(),
      });
  }

  recordEvent(
    domain: string,
    outcome: CertOutcome,
    detail?: string,
    retryAfter?: Date,
    at: Date = new Date(),
  ): void {
    this.#db
      .prepare(
        'INSERT INTO certificate_events (domain, at, outcome, detail, retry_after) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        domain,
        at.toISOString(),
        outcome,
        detail === undefined ? null : scrub(detail),
        retryAfter?.toISOString() ?? null,
      );
  }

  /** The domain's events, newest first. */
  events(domain: string, limit = 20): CertEventRecord[] {
    const rows = this.#db
      .prepare('SELECT * FROM certificate_events WHERE domain = ? ORDER BY id DESC LIMIT ?')
      .all(domain, limit) as EventRow[];
    return rows.map((r) => ({
      id: r.id,
      domain: r.domain,
      at: new Date(r.at),
      outcome: r.outcome,
      detail: r.detail ?? undefined,
      retryAfter: r.retry_after ? new Date(r.retry_after) : undefined,
    }));
  }

  /** Domains with any recorded event. */
  eventDomains(): string[] {
    return (
      this.#db.prepare('SELECT DISTINCT domain FROM certificate_events ORDER BY domain').all() as {
        domain: string;
      }[]
    ).map((r) => r.domain);
  }

  /**
   * The latest retry time the CA asked for that has not passed yet, unless a
   * certificate was issued since; undefined when a request may be sent now.
   */
  retryAfter(domain: string, now: Date = new Date()): Date | undefined {
    const row = this.#db
      .prepare(
        `SELECT MAX(retry_after) AS t FROM certificate_events
         WHERE domain = @domain AND retry_after IS NOT NULL AND retry_after > @now
           AND id > COALESCE((SELECT MAX(id) FROM certificate_events
                              WHERE domain = @domain AND outcome IN ('issued', 'renewed')), 0)`,
      )
      .get({ domain, now: now.toISOString() }) as { t: string | null };
    return row.t ? new Date(row.t) : undefined;
  }
}

function certFromRow(r: CertRow): StoredCertificate {
  return {
    domain: r.domain,
    certPem: r.cert_pem,
    keyPem: new Secret(r.key_pem),
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    issuer: r.issuer,
    directory: r.directory,
    updatedAt: new Date(r.updated_at),
  };
}

/** The database holds private keys: owner-only, with its WAL and shared-memory files. */
function restrictMode(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}
