#!/bin/sh
# Entrypoint for odp/s3rver. `docker run odp/s3rver:3 --configure-bucket b` keeps
# the platform defaults and adds to them; a full command replaces them.
set -eu

if [ "${1#-}" != "$1" ]; then
	set -- s3rver --address 0.0.0.0 --port 4569 --directory /data --silent --no-vhost-buckets "$@"
fi

# Started as root: own the data volume (a fresh one is root's), then run as s3rver.
if [ "$1" = 's3rver' ] && [ "$(id -u)" = '0' ]; then
	chown s3rver:s3rver /data 2>/dev/null || true
	exec setpriv --reuid=s3rver --regid=s3rver --init-groups "$@"
fi

exec "$@"
