#!/bin/sh
# Entrypoint for odp/redis. `docker run odp/redis:7 --maxmemory 100mb` keeps the
# platform defaults and adds to them (for redis-server a later flag overrides an
# earlier one); a full command replaces them.
set -eu

if [ "${1#-}" != "$1" ]; then
	set -- redis-server --appendonly yes --protected-mode no --bind 0.0.0.0 --dir /data "$@"
fi

# Started as root: own the data volume, then run as the redis user.
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
	chown redis:redis /data 2>/dev/null || true
	exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi

exec "$@"
