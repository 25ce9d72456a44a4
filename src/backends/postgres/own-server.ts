// How PostgreSQL's own tools (pg_dump, pg_restore), exec'd inside a postgres
// unit, reach that unit's server: through its unix socket, so nothing is assumed
// about the unit's network (no loopback, no address that another engine might
// not give it). The images' initdb trusts local connections (images/postgres:
// --auth-local=trust, as the official image does); PGPASSWORD is still given, for
// a server whose local method asks for the password.

/** Where PostgreSQL puts its socket in the odp/postgres and the official images (Debian's build). */
export const SOCKET_DIR = '/var/run/postgresql';

/** Connection flags of a PostgreSQL tool run inside the unit, as the superuser, never prompting. */
export const OWN_SERVER_ARGS = [
  `--host=${SOCKET_DIR}`,
  '--port=5432',
  '--username=postgres',
  '--no-password',
];
