#!/bin/sh
# `make compose-test`, first half: what the container tests need on this machine. Installs
# Debian's docker.io, docker-compose and debootstrap when absent, starts dockerd when no daemon
# answers, builds the stand-in base images (deploy/images/build.sh) and fills deploy/wheelhouse
# so that the Caseline image builds without PyPI in the build container. Needs root.
set -eu
cd "$(dirname "$0")/../.."
PIP=${PIP:-.venv/bin/pip}

missing=""
command -v dockerd > /dev/null 2>&1 || missing="$missing docker.io"
command -v docker-compose > /dev/null 2>&1 || docker compose version > /dev/null 2>&1 \
  || missing="$missing docker-compose"
command -v debootstrap > /dev/null 2>&1 || missing="$missing debootstrap"
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
fi

if ! docker info > /dev/null 2>&1; then
  echo "starting dockerd (log: /var/log/caseline-dockerd.log)"
  setsid nohup dockerd > /var/log/caseline-dockerd.log 2>&1 < /dev/null &
  i=0
  until docker info > /dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 60 ] && { tail -20 /var/log/caseline-dockerd.log; exit 1; }
    sleep 1
  done
fi

PIP="$PIP" deploy/images/build.sh

if ! ls deploy/wheelhouse/*.whl > /dev/null 2>&1; then
  echo "filling deploy/wheelhouse"
  "$PIP" download --quiet -d deploy/wheelhouse -c constraints.txt '.[otlp]' 'setuptools>=69' wheel
  rm -f deploy/wheelhouse/caseline-*
fi
