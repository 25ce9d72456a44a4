#!/bin/sh
# Entrypoint for odp/nginx: install the config from $NGINX_CONF when given,
# refuse to start on an invalid config (nginx -t's own message on stderr, exit
# non-zero), then run nginx in the foreground as PID 1.
set -eu

if [ -n "${NGINX_CONF:-}" ]; then
	conf=$NGINX_CONF
	# A sidecar that cannot share Odoo's network namespace (Swarm) is told Odoo's
	# name in NGX_ODOO_HOST: it replaces ${NGX_ODOO_HOST} in the config.
	if [ -n "${NGX_ODOO_HOST:-}" ]; then
		case $NGX_ODOO_HOST in
		*[!A-Za-z0-9.-]*)
			echo "odp-nginx: NGX_ODOO_HOST is not a host name: $NGX_ODOO_HOST" >&2
			exit 1
			;;
		esac
		conf=$(printf '%s\n' "$conf" | sed "s|\${NGX_ODOO_HOST}|$NGX_ODOO_HOST|g")
	fi
	printf '%s\n' "$conf" >/etc/nginx/nginx.conf
fi

if [ "$1" = 'nginx' ]; then
	if ! out=$(nginx -t 2>&1); then
		printf '%s\n' "$out" >&2
		echo 'odp-nginx: invalid configuration, not starting' >&2
		exit 1
	fi
fi

exec "$@"
