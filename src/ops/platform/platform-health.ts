// The deeper half of `odp platform status`: what the shared services say about
// themselves. Each probe is bounded and independent, so one service down never
// hides the others' state.
import { connect, replicationStatus, type ReplicationStatus } from '../../backends/postgres/index.js';
import { redisStatus, type RedisStatus } from '../../backends/redis/index.js';
import type { Engine } from '../../engines/engine.js';
import type { PlatformDir } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { certStatus, type CertStatus } from '../edge/certs.js';
import { edgeRoutes } from '../edge/edge-sync.js';
import { sharedEndpoint } from './shared-endpoint.js';

export interface PlatformHealth {
  replication?: ReplicationStatus | { error: string };
  redis: Record<'prod' | 'integration', RedisStatus | { error: string }>;
  certificates: (CertStatus | { domain: string })[];
}

export async function platformHealth(
  engine: Engine,
  pd: PlatformDir,
  superuserPassword: Secret | undefined,
): Promise<PlatformHealth> {
  const redis = async (tier: 'prod' | 'integration') => {
    try {
      return await redisStatus(await sharedEndpoint(engine, pd, `redis-${tier}`, 6379));
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const [replication, redisProd, redisInt] = await Promise.all([
    pd.platform.services.postgres.replica && superuserPassword
      ? replication_(engine, pd, superuserPassword)
      : undefined,
    redis('prod'),
    redis('integration'),
  ]);
  const held = new Map(certStatus(pd.dir).map((c) => [c.domain, c]));
  return {
    ...(replication ? { replication } : {}),
    redis: { prod: redisProd, integration: redisInt },
    certificates: edgeRoutes(pd).map((r) => held.get(r.domain) ?? { domain: r.domain }),
  };
}

async function replication_(
  engine: Engine,
  pd: PlatformDir,
  password: Secret,
): Promise<ReplicationStatus | { error: string }> {
  const open = async (service: string) =>
    connect({
      ...(await sharedEndpoint(engine, pd, service, 5432)),
      user: 'postgres',
      password,
      database: 'postgres',
      connectTimeoutMs: 3000,
      queryTimeoutMs: 3000,
    });
  try {
    const [primary, replica] = await Promise.all([open('postgres-prod'), open('postgres-replica')]);
    try {
      return await replicationStatus(primary, replica);
    } finally {
      await Promise.all([primary.end(), replica.end()]).catch(() => undefined);
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}
