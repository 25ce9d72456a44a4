// How far the streaming replica is behind its primary, for `platform status`.
// Bytes come from the primary (pg_stat_replication: WAL written there and not
// yet replayed by a standby). Seconds only mean something while bytes are
// outstanding: the replica's `now() - pg_last_xact_replay_timestamp()` also
// grows while the primary is idle with nothing to replay, so an idle primary
// whose WAL is all replayed reports 0 s, however long ago the last write was.
// While bytes are outstanding, the primary's own measure (replay_lag) is used
// when it has one, else the replica's age of its last replayed transaction.
import { pgError, type PgClient } from './client.js';

export interface ReplicationStatus {
  /** The primary has a streaming WAL sender and the replica is a standby receiving from it. */
  connected: boolean;
  /** WAL the primary wrote that the replica has not replayed (the worst standby, if several). */
  lagBytes: number;
  /** null when it cannot be known: bytes outstanding but no transaction replayed since the replica started. */
  lagSeconds: number | null;
  /** Why it is not connected, when it is not. */
  detail?: string;
}

interface Sender {
  state: string;
  lag: string | null;
  lag_seconds: number | null;
}

interface Standby {
  in_recovery: boolean;
  receiving: boolean;
  replay_lsn: string | null;
  replay_age: number | null;
}

export async function replicationStatus(primary: PgClient, replica: PgClient): Promise<ReplicationStatus> {
  let senders: Sender[];
  let current: string;
  try {
    // replay_lsn can be null for a sender still starting up.
    senders = (
      await primary.query<Sender>(
        `SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS lag,
                extract(epoch FROM replay_lag)::float8 AS lag_seconds
           FROM pg_stat_replication`,
      )
    ).rows;
    current = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  } catch (e) {
    throw pgError('cannot read the replication status of the primary', e);
  }
  let standby: Standby;
  try {
    standby = (
      await replica.query<Standby>(
        `SELECT pg_is_in_recovery() AS in_recovery,
                EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') AS receiving,
                pg_last_wal_replay_lsn()::text AS replay_lsn,
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age`,
      )
    ).rows[0]!;
  } catch (e) {
    throw pgError('cannot read the replication status of the replica', e);
  }
  if (!standby.in_recovery) {
    return {
      connected: false,
      lagBytes: 0,
      lagSeconds: null,
      detail: 'the replica is not a standby (promoted?)',
    };
  }
  const streaming = senders.filter((s) => s.state === 'streaming' && s.lag !== null);
  const connected = streaming.length > 0 && standby.receiving;
  let lagBytes: number;
  if (streaming.length > 0) {
    lagBytes = Math.max(...streaming.map((s) => Number(s.lag)));
  } else {
    // No sender: measure from the replica's own replay position instead.
    try {
      const r = await primary.query<{ lag: string }>(
        'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS lag',
        [current, standby.replay_lsn ?? '0/0'],
      );
      lagBytes = Number(r.rows[0]!.lag);
    } catch (e) {
      throw pgError('cannot compare WAL positions', e);
    }
  }
  lagBytes = Math.max(0, lagBytes);
  const measured = streaming.map((s) => s.lag_seconds).filter((x): x is number => x !== null);
  const age = measured.length > 0 ? Math.max(...measured) : standby.replay_age;
  const lagSeconds = lagBytes === 0 ? 0 : age === null ? null : Math.max(0, age);
  return {
    connected,
    lagBytes,
    lagSeconds,
    ...(connected
      ? {}
      : {
          detail:
            streaming.length === 0
              ? 'the primary has no streaming replica'
              : 'the replica is not receiving WAL from the primary',
        }),
  };
}
