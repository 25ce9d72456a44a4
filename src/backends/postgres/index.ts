// PostgreSQL: the only module that talks to it (through node-postgres).
export { connect, quoteIdent, sqlState, type PgClient, type PgConnection } from './client.js';
export {
  provisionConnect,
  provisionDatabase,
  provisionOwnedDatabase,
  provisionRole,
  type Change,
  type DatabaseGrant,
  type ProvisionResult,
} from './provision.js';
export { replicationStatus, type ReplicationStatus } from './replication.js';
export { OWN_SERVER_ARGS, SOCKET_DIR } from './own-server.js';
