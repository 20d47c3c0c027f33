#!/usr/bin/env bash
# Make this machine able to run the lab, touching only what is missing:
#   - a Docker engine that answers (Debian's docker.io, started in the background when not running),
#   - a compose CLI (`docker compose` v2 or Debian's docker-compose v1),
#   - debootstrap, only when the base image must be built from scratch (no solat-lab/base or python:3.11-slim),
#   - strace, the system-call recorder of `chaos-lab crashstates` (docs/crash-states.md).
# Idempotent: on a machine where all of that works it changes nothing. CI runs it as root.
set -euo pipefail

DOCKERD_LOG=${LAB_DOCKERD_LOG:-/var/log/solat-lab-dockerd.log}
DOCKERD_WAIT=${LAB_DOCKERD_WAIT:-60}

die() { echo "host-setup: error: $*" >&2; exit 1; }
say() { echo "host-setup: $*"; }

APT_UPDATED=0
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "installing $* needs root (run 'make host' as root, or install them yourself)"
  command -v apt-get >/dev/null || die "no apt-get: install $* with this system's package manager"
  if [ "$APT_UPDATED" -eq 0 ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed (no route to the Debian mirror?)"
    APT_UPDATED=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

docker_answers() { docker info >/dev/null 2>&1; }
have_compose() { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }

if ! docker_answers; then
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  have_compose || missing+=(docker-compose)
  [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
  # The package's own service start may already have brought it up (on systemd machines).
  if ! docker_answers; then
    [ "$(id -u)" -eq 0 ] || die "dockerd is not running and starting it needs root"
    if ! pgrep -x dockerd >/dev/null; then
      say "starting dockerd (log: $DOCKERD_LOG)"
      mkdir -p "$(dirname "$DOCKERD_LOG")"
      setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    for _ in $(seq "$DOCKERD_WAIT"); do
      docker_answers && break
      sleep 1
    done
    docker_answers || die "dockerd did not answer within ${DOCKERD_WAIT}s (see $DOCKERD_LOG)"
  fi
  say "docker is up: $(docker version -f '{{.Server.Version}}')"
elif ! have_compose; then
  apt_install docker-compose
fi

# strace records the engine's system calls for the crash-state enumeration (runs on the host, no capability).
command -v strace >/dev/null || apt_install strace

# debootstrap is needed only to build the base image from nothing.
if ! docker image inspect solat-lab/base:bookworm >/dev/null 2>&1 \
  && ! docker image inspect python:3.11-slim >/dev/null 2>&1 \
  && ! docker image inspect solat-lab/rootfs:bookworm >/dev/null 2>&1 \
  && ! command -v debootstrap >/dev/null; then
  apt_install debootstrap
fi
exit 0
