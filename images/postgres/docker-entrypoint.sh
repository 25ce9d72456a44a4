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

# A secret handed over as a file (a Swarm secret under /run/secrets): VAR_FILE names
# the file and VAR gets its content, as the official image's file_env does.
file_env() {
	local var=$1 file_var="${1}_FILE"
	local file=${!file_var:-}
	[ -n "$file" ] || return 0
	if [ -n "${!var:-}" ]; then
		echo "odp-postgres: both $var and $file_var are set; set one" >&2
		exit 1
	fi
	export "$var=$(<"$file")"
	unset "$file_var"
}
file_env POSTGRES_PASSWORD
file_env POSTGRES_REPLICATION_PASSWORD

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=}"
export POSTGRES_USER POSTGRES_DB

log() { echo "odp-postgres: $*" >&2; }

: "${POSTGRES_REPLICATION_USER:=}"
: "${POSTGRES_REPLICATION_PASSWORD:=}"
: "${POSTGRES_PRIMARY_HOST:=}"
: "${POSTGRES_PRIMARY_PORT:=5432}"
# How long a new replica waits for its primary to accept connections (seconds).
: "${POSTGRES_PRIMARY_WAIT:=180}"

# Replica mode: with POSTGRES_PRIMARY_HOST set, an empty $PGDATA is a copy of the
# primary (`pg_basebackup -R`: its configuration, its roles, and standby.signal with
# the primary's address), never a fresh initdb. PostgreSQL then starts as a
# read-only hot standby that streams the primary's WAL.
if [ -n "$POSTGRES_PRIMARY_HOST" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$POSTGRES_REPLICATION_USER" ] || [ -z "$POSTGRES_REPLICATION_PASSWORD" ]; then
		log 'error: POSTGRES_PRIMARY_HOST is set but POSTGRES_REPLICATION_USER or'
		log '       POSTGRES_REPLICATION_PASSWORD is not: a replica needs both to copy its primary.'
		exit 1
	fi
	primary="$POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT"
	log "waiting up to ${POSTGRES_PRIMARY_WAIT}s for the primary $primary"
	deadline=$((SECONDS + POSTGRES_PRIMARY_WAIT))
	until pg_isready -q -h "$POSTGRES_PRIMARY_HOST" -p "$POSTGRES_PRIMARY_PORT" -t 5; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "error: the primary $primary did not accept connections within ${POSTGRES_PRIMARY_WAIT}s"
			exit 1
		fi
		sleep 1
	done
	log "copying the primary $primary into $PGDATA (pg_basebackup)"
	# The password goes through the environment of this one command, never its
	# command line. -R writes standby.signal and primary_conninfo (which includes
	# that password: the standby needs it to reconnect; the file stays in the
	# private data directory). -c fast: do not wait for a spread checkpoint.
	PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" pg_basebackup \
		-h "$POSTGRES_PRIMARY_HOST" -p "$POSTGRES_PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" \
		-D "$PGDATA" -R -X stream -c fast -w
	chmod 700 "$PGDATA"
	log 'base backup done; starting as a read-only hot standby'
fi

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

	# A primary for streaming replicas: the replication role may connect from the
	# network with its password. WAL for standbys, and enough of it kept (without a
	# slot, which would keep WAL forever for a replica that is gone) for a replica
	# that was away a while to catch up. Replicas copy these files as they are.
	replication=
	if [ -z "$POSTGRES_PRIMARY_HOST" ] && [ -n "$POSTGRES_REPLICATION_USER" ] && [ -n "$POSTGRES_REPLICATION_PASSWORD" ]; then
		replication=1
		{
			echo "# added by odp/postgres: streaming replicas"
			echo "host replication \"$POSTGRES_REPLICATION_USER\" all scram-sha-256"
		} >>"$PGDATA/pg_hba.conf"
		{
			echo "# added by odp/postgres: streaming replicas"
			echo "wal_level = replica"
			echo "max_wal_senders = 10"
			echo "wal_keep_size = '1GB'"
			echo "hot_standby = on"
		} >>"$PGDATA/postgresql.conf"
	fi

	# A temporary server on the unix socket only, so nobody connects to a half-made
	# cluster and the health check stays red until the real start below.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
	psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'SQL' >/dev/null
			CREATE DATABASE :"db";
		SQL
	fi
	if [ -n "$replication" ]; then
		log "creating the replication role $POSTGRES_REPLICATION_USER"
		# \getenv reads the password inside psql: it is on no command line, and a
		# failing statement is not copied into the server log with it.
		# password_encryption is scram-sha-256 (PostgreSQL 15's default), said again here.
		"${psql[@]}" --dbname postgres --set role="$POSTGRES_REPLICATION_USER" <<-'SQL' >/dev/null
			\getenv pw POSTGRES_REPLICATION_PASSWORD
			SET log_min_error_statement = panic;
			SET password_encryption = 'scram-sha-256';
			CREATE ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'pw';
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
