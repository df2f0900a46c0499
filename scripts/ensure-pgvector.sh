#!/usr/bin/env bash
# Make `CREATE EXTENSION vector` work on the local Postgres (the knowledge service's vector index).
# Debian 12 has no pgvector package for PostgreSQL 15: build it from ../shared/pgvector (the pinned v0.8.6 source,
# see its README) with the server's PGXS. Idempotent and fast when already installed (one file test).
# OPTFLAGS="" avoids -march=native, so the build runs on any x86-64 CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "ensure-pgvector: no PostgreSQL installation under /etc/postgresql" >&2
  exit 1
fi
if [ -f "/usr/share/postgresql/$version/extension/vector.control" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-pgvector: pgvector is missing and we are not root; run scripts/ensure-pgvector.sh as root" >&2
  exit 1
fi

shared="${HELPLINE_SHARED_DIR:-$(cd .. && pwd)/shared}"
archive="$shared/pgvector/pgvector-0.8.6.tar.gz"
if [ ! -f "$archive" ]; then
  echo "ensure-pgvector: $archive not found (HELPLINE_SHARED_DIR points at ../shared)" >&2
  exit 1
fi
if [ ! -f "/usr/include/postgresql/$version/server/postgres.h" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$version" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$archive" -C "$work"
source_dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
make -s -C "$source_dir" -j2 OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" >/dev/null
make -s -C "$source_dir" install PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" >/dev/null
echo "ensure-pgvector: built and installed pgvector 0.8.6 for PostgreSQL $version"
