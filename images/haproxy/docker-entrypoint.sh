#!/bin/sh
# Entrypoint for odp/haproxy: install the config from $HAPROXY_CFG when given,
# check it (haproxy -c prints the reason and exits non-zero when invalid), then
# exec haproxy as PID 1 in master-worker mode (-W) in the foreground (-db). The
# master re-reads the file on SIGUSR2 and hands over to new workers without
# closing the listening sockets, so reloads are hitless.
set -eu

CFG=/usr/local/etc/haproxy/haproxy.cfg

if [ -n "${HAPROXY_CFG:-}" ]; then
	printf '%s\n' "$HAPROXY_CFG" >"$CFG"
fi

if [ "$1" = 'haproxy' ]; then
	if ! out=$(haproxy -c -f "$CFG" 2>&1); then
		printf '%s\n' "$out" >&2
		echo 'odp-haproxy: invalid configuration, not starting' >&2
		exit 1
	fi
fi

exec "$@"
