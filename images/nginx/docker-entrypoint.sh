#!/bin/sh
# Entrypoint for odp/nginx: install the config from $NGINX_CONF when given,
# refuse to start on an invalid config (nginx -t's own message on stderr, exit
# non-zero), then run nginx in the foreground as PID 1.
set -eu

if [ -n "${NGINX_CONF:-}" ]; then
	printf '%s\n' "$NGINX_CONF" >/etc/nginx/nginx.conf
fi

if [ "$1" = 'nginx' ]; then
	if ! out=$(nginx -t 2>&1); then
		printf '%s\n' "$out" >&2
		echo 'odp-nginx: invalid configuration, not starting' >&2
		exit 1
	fi
fi

exec "$@"
