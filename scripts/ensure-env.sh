#!/usr/bin/env bash
# Makes this machine able to run odp's tests and demo: Debian packages (Docker
# Engine, gpg, debootstrap, docker-compose as the benchmark peer, the real
# nginx/haproxy binaries that validate configs) and a running Docker engine.
# Pebble (Let's Encrypt's test ACME server) for the certificate tests.
# Idempotent and quick when everything is there already.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd || need+=(docker.io)
have gpg || need+=(gnupg)
have debootstrap || need+=(debootstrap)
have docker-compose || need+=(docker-compose)
have nginx || need+=(nginx-light)
have haproxy || need+=(haproxy)
have git || need+=(git)
# Let's Encrypt's own test server, for the certificate tests.
have pebble || need+=(pebble)
# A real image registry, for the `odp publish` tests.
have docker-registry || need+=(docker-registry)
# Keeps the cores busy for the busy-machine run of the suite (README, "Testing notes").
have stress-ng || need+=(stress-ng)
# zsh, for the test of `odp completion zsh`.
have zsh || need+=(zsh)
# promtool checks and tests the shipped alert rules (monitoring/alerts.yml).
have promtool || need+=(prometheus)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "odp: missing ${need[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "odp: installing ${need[*]} from Debian…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Debian nginx and haproxy packages start services on install where an init
# system exists; odp only uses their binaries to validate configs.
if ! docker info >/dev/null 2>&1; then
  echo "odp: starting the Docker engine…" >&2
  mkdir -p /var/log/odp
  # Without the caller's open files: a lock the caller holds (flock) must not
  # live on in the daemon.
  # shellcheck disable=SC2016
  nohup setsid bash -c 'for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; exec dockerd' \
    >/var/log/odp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "odp: dockerd did not start; see /var/log/odp/dockerd.log" >&2; exit 1; }
fi
