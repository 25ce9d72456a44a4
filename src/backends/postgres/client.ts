// The one place odp opens a PostgreSQL connection (node-postgres). Every
// failure becomes an OdpError('ENGINE') whose message names the server and the
// user, never the password: it is masked even if a driver message echoed it.
import pg from 'pg';
import { OdpError } from '../../errors.js';
import { MASK, type Secret } from '../../secret.js';

export type PgClient = pg.Client;

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password: Secret | string;
  database: string;
  /** Bounded: a server that does not answer fails the call, it does not hang it. */
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

export async function connect(cfg: PgConnection): Promise<PgClient> {
  const password = typeof cfg.password === 'string' ? cfg.password : cfg.password.reveal();
  const client = new pg.Client({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password,
    database: cfg.database,
    application_name: 'odp',
    connectionTimeoutMillis: cfg.connectTimeoutMs ?? 10_000,
    query_timeout: cfg.queryTimeoutMs ?? 60_000,
  });
  // A server that goes away later emits 'error' on the client; unhandled, that
  // would end the process. The next query rejects with it anyway.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw pgError(
      `cannot connect to PostgreSQL ${cfg.host}:${cfg.port} as ${cfg.user} (database ${cfg.database})`,
      e,
      [password],
    );
  }
  return client;
}

/** Quotes an identifier (role, database) for SQL text: DDL takes no parameters. */
export const quoteIdent = (name: string): string => pg.escapeIdentifier(name);
export const quoteLiteral = (value: string): string => pg.escapeLiteral(value);

/** The SQLSTATE of a PostgreSQL error, looking through OdpError causes (42501: insufficient privilege). */
export function sqlState(e: unknown): string | undefined {
  for (let c: unknown = e; c && typeof c === 'object'; c = (c as { cause?: unknown }).cause) {
    if (c instanceof pg.DatabaseError) return c.code;
  }
  return undefined;
}

/** An OdpError('ENGINE') for a failed PostgreSQL call, with `secrets` masked out of its message. */
export function pgError(context: string, e: unknown, secrets: readonly string[] = []): OdpError {
  let message = e instanceof Error ? e.message : String(e);
  for (const s of secrets) if (s) message = message.split(s).join(MASK);
  const state = sqlState(e);
  return new OdpError('ENGINE', `${context}: ${message}${state ? ` (SQLSTATE ${state})` : ''}`, { cause: e });
}
