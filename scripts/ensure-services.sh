#!/usr/bin/env bash
# Make sure Postgres (127.0.0.1:5432, trust auth for local connections), Redis (127.0.0.1:6379) and NATS with
# JetStream (127.0.0.1:4222) answer.
# Starts them when installed but stopped; installs them from Debian's packages when absent and we are root.
# Idempotent: does nothing when both already answer.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "ensure-services: nothing answers on 127.0.0.1:$1 after 30 s" >&2
  return 1
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-services: $* missing and not root; install them (apt-get install $*) and re-run" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Tests connect as postgres over TCP without a password, as on the development machines.
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432
  echo "ensure-services: started PostgreSQL $version"
fi

if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
  echo "ensure-services: started Redis"
fi

# Lifecycle events go to NATS JetStream (tests/app/events publish and consume on it).
if ! port_open 4222; then
  command -v nats-server >/dev/null || apt_install nats-server
  mkdir -p /var/lib/nats-server
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log >/dev/null 2>&1 &
  wait_port 4222
  echo "ensure-services: started NATS with JetStream"
fi

# The knowledge service's vector index needs pgvector in the server (built from ../shared/pgvector when absent).
"$(dirname "$0")/ensure-pgvector.sh"
