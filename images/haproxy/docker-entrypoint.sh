#!/bin/sh
# Entrypoint for odp/haproxy, the edge. Everything lives on /usr/local/etc/haproxy
# (a volume), so a restarted container serves the last configuration odp applied:
#
#   default.pem          self-signed default certificate, made here once
#   releases/<id>/       haproxy.cfg, acme.map, maintenance.map, default.pem, certs/<domain>.pem
#   current -> releases/<id>   the live release; odp swaps this link atomically
#   .staging/<id>/       where odp uploads and checks a release before it goes live
#
# HAProxy runs with -C current, so the configuration names its files relatively.
# With HAPROXY_CFG set, that configuration becomes the live release; with nothing
# applied yet, the built-in one (health, ACME, HTTPS redirect, no sites) does. The
# live configuration is checked (haproxy -c prints the reason); if a once-good
# release no longer passes, the built-in one is used so the edge stays reachable
# for odp to apply a new one. Then haproxy runs as PID 1 in master-worker mode
# (-W) in the foreground (-db): SIGUSR2 re-reads `current` and hands over to new
# workers without closing the listening sockets, so reloads are hitless.
set -eu

DIR=/usr/local/etc/haproxy
BUILTIN=/usr/local/share/odp-haproxy/haproxy.cfg

say() { echo "odp-haproxy: $*" >&2; }

cd "$DIR"
mkdir -p releases .staging
# Uploads of an apply that was interrupted: never checked, never live.
find .staging -mindepth 1 -maxdepth 1 -exec rm -rf {} +
# Server addresses from before the restart may be stale: DNS finds them again. An
# empty state file (format version 1) until odp's first reload dumps the real one.
printf '1\n' >/var/lib/haproxy/server-state

if [ ! -s default.pem ]; then
	say 'making the default (self-signed) certificate'
	tmp=$(mktemp -d)
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=odp-edge-default' \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
	cat "$tmp/cert.pem" "$tmp/key.pem" >default.pem.new
	chmod 600 default.pem.new
	mv default.pem.new default.pem
	rm -rf "$tmp"
fi

# release NAME CFG: make releases/NAME from CFG (no certificates, no challenges) and make it live.
release() {
	rm -rf "releases/$1.new"
	mkdir -p "releases/$1.new/certs"
	cp "$2" "releases/$1.new/haproxy.cfg"
	: >"releases/$1.new/acme.map"
	: >"releases/$1.new/maintenance.map"
	cp default.pem "releases/$1.new/default.pem"
	rm -rf "releases/$1"
	mv "releases/$1.new" "releases/$1"
	ln -sfn "releases/$1" current.new
	mv -T current.new current
}

check() {
	haproxy -c -C "$DIR/current" -f "$DIR/current/haproxy.cfg" 2>&1
}

if [ -n "${HAPROXY_CFG:-}" ]; then
	printf '%s\n' "$HAPROXY_CFG" >/tmp/haproxy-env.cfg
	release env /tmp/haproxy-env.cfg
elif [ ! -f current/haproxy.cfg ] || [ "$(readlink current)" = releases/builtin ]; then
	# Made afresh each time: the built-in configuration belongs to the image, not the volume.
	say 'no configuration applied yet: using the built-in one'
	release builtin "$BUILTIN"
fi

if [ "$1" = 'haproxy' ]; then
	if ! out=$(check); then
		printf '%s\n' "$out" >&2
		live=$(readlink current)
		if [ -n "${HAPROXY_CFG:-}" ] || [ "$live" = releases/builtin ]; then
			say 'invalid configuration, not starting'
			exit 1
		fi
		say "the live configuration ($live) does not pass the check any more: using the built-in one"
		release builtin "$BUILTIN"
		if ! out=$(check); then
			printf '%s\n' "$out" >&2
			say 'invalid configuration, not starting'
			exit 1
		fi
	fi
	say "serving $(readlink current)"
fi

exec "$@"
