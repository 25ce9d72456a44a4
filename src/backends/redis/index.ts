// Redis: the only module that talks to it (through ioredis). One short-lived
// connection per question, with bounded timeouts and no reconnection: a status
// probe of a server that is down must answer "down" quickly, not retry forever
// or queue commands for a server that may never come back.
import { Redis } from 'ioredis';
import type { Secret } from '../../secret.js';

export type RedisClient = Redis;

export interface RedisAddress {
  host: string;
  port: number;
  password?: Secret | string;
}

export interface RedisStatus {
  up: boolean;
  /** The append-only file is on: sessions survive a restart. */
  aofEnabled: boolean;
  /** Keys in every logical database. */
  keys: number;
  /** Why it is down, when it is. */
  error?: string;
}

const TIMEOUT_MS = 3000;

/** A connection that fails fast: connect and every command bounded, no retries, no offline queue. */
export async function redisConnect(target: string | RedisAddress): Promise<RedisClient> {
  const options = {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  const client =
    typeof target === 'string'
      ? new Redis(target, options)
      : new Redis({
          ...options,
          host: target.host,
          port: target.port,
          ...(target.password === undefined
            ? {}
            : { password: typeof target.password === 'string' ? target.password : target.password.reveal() }),
        });
  // ioredis emits 'error' on connection problems; unhandled, that ends the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw e;
  }
  return client;
}

/** Sums `db0:keys=3,expires=1,…` lines of INFO keyspace. */
export function keyspaceKeys(info: string): number {
  let total = 0;
  for (const m of info.matchAll(/^db\d+:keys=(\d+)/gm)) total += Number(m[1]);
  return total;
}

export async function redisStatus(target: string | RedisAddress): Promise<RedisStatus> {
  let client: Redis | undefined;
  try {
    client = await redisConnect(target);
    const persistence = await client.info('persistence');
    const keyspace = await client.info('keyspace');
    return {
      up: true,
      aofEnabled: /^aof_enabled:1\s*$/m.test(persistence),
      keys: keyspaceKeys(keyspace),
    };
  } catch (e) {
    // ioredis messages carry the address, never the password.
    return { up: false, aofEnabled: false, keys: 0, error: e instanceof Error ? e.message : String(e) };
  } finally {
    client?.disconnect();
  }
}
