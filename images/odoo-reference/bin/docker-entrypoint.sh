#!/bin/bash
# Entrypoint of the reference workload, in the order of docker-odoo-project's
# bin/docker-entrypoint.sh: PG* variables, DEMO, odoo.cfg, wait for
# PostgreSQL, before-migrate hooks, migration, start hooks, then the command.
set -Eeo pipefail

# 1. libpq variables for every tool below (psql, ref-sql, operations).
export PGHOST="${DB_HOST:-db}" PGPORT="${DB_PORT:-5432}" PGUSER="${DB_USER:-odoo}" PGDATABASE="${DB_NAME:-odoodb}"
export PGAPPNAME="${HOSTNAME:-odoo}"
if [ ! -f "${HOME:-/nonexistent}/.pgpass" ] && [ -n "${DB_PASSWORD:-}" ]; then
	export PGPASSWORD="$DB_PASSWORD"
fi

# 2. DEMO is True or False; anything else is refused.
case "$(printf '%s' "${DEMO:-False}" | tr '[:upper:]' '[:lower:]')" in
	false) export WITHOUT_DEMO=all ;;
	true) export WITHOUT_DEMO= ;;
	scenario | all)
		echo "DEMO=${DEMO} is no longer supported: use MARABUNTA_MODE=demo" >&2
		exit 1 ;;
	*)
		echo "Value '${DEMO}' for DEMO is not a valid value in 'False', 'True'" >&2
		exit 1 ;;
esac

# 3. odoo.cfg from the environment.
render-odoo-config "${ODOO_RC:-/etc/odoo.cfg}"

cmd="$(basename "${1:-}")"
case "$cmd" in
	odoo | odoo.py | migrate) ;;
	*) exec "$@" ;;  # any other command runs as is
esac

# 5. Wait for the database server (bounded, like wait_postgres.sh).
wait_postgres

# 6. Data directories (the volume may be fresh).
mkdir -p /data/odoo/addons /data/odoo/filestore /data/odoo/sessions

# 7. Hooks that run before any migration.
run-parts --exit-on-error /before-migrate-entrypoint.d

# 8. Migrate unless told not to, and not for `odoo shell` or `odoo --help`.
if [ "$cmd" != migrate ] && [ "${2:-}" != shell ] && [[ " $* " != *" --help "* ]]; then
	migrate_flag="$(printf '%s' "${MIGRATE:-True}" | tr '[:upper:]' '[:lower:]')"
	if [ "$migrate_flag" = true ]; then
		migrate
	fi
fi

# 9. Hooks after the migration (base URL, report URL, project's own).
run-parts --exit-on-error /start-entrypoint.d

# 10. The server, as PID 1 so it receives SIGTERM directly.
exec "$@"
