#!/bin/bash
# Entrypoint for odp/postgres: initialise the cluster on first start (like the
# official postgres image), then exec postgres as PID 1 under the postgres user.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

# Started as root: fix ownership of the data directory (a fresh bind mount is
# root's) and re-exec as postgres. setpriv comes with util-linux, no gosu needed.
if [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=}"
export POSTGRES_USER POSTGRES_DB

log() { echo "odp-postgres: $*" >&2; }

# Replica mode goes here, before initdb: with POSTGRES_PRIMARY_HOST set, an empty
# $PGDATA would be filled by `pg_basebackup -R` from the primary instead of initdb,
# and the primary's init would create the replication role. Not built yet.

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		log 'error: database is uninitialized and POSTGRES_PASSWORD is not set.'
		log '       Set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust to allow'
		log '       every network client in without a password (never in production).'
		exit 1
	fi
	log "initialising a new cluster in $PGDATA"
	# The password goes through a file descriptor, never the command line or the log.
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		--encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
		-D "$PGDATA" >/dev/null

	# Network clients authenticate with a password (scram, or md5 for old hashes).
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	{
		echo
		echo "# added by odp/postgres: network clients"
		echo "host all all all $auth"
	} >>"$PGDATA/pg_hba.conf"
	{
		echo
		echo "# added by odp/postgres"
		echo "listen_addresses = '*'"
	} >>"$PGDATA/postgresql.conf"

	# A temporary server on the unix socket only, so nobody connects to a half-made
	# cluster and the health check stays red until the real start below.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
	psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'SQL' >/dev/null
			CREATE DATABASE :"db";
		SQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) log "running $f"; . "$f" ;;
			*.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >/dev/null ;;
			*.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" >/dev/null ;;
			*) if [ -e "$f" ]; then log "ignoring $f"; fi ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	log 'initialisation done; starting'
fi

exec "$@"
