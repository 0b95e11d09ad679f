#!/usr/bin/env bash
# Installs (if missing) and starts what the integration, full-stack and browser tests
# need, on Debian/Ubuntu: MariaDB, RabbitMQ, nginx and Chromium. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! port_open 3306; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
if ! port_open 5672; then
  rabbitmq-server -detached || true
fi
for i in $(seq 1 120); do
  port_open 3306 && port_open 5672 && break
  sleep 1
done
port_open 3306 || { echo "MariaDB did not start" >&2; exit 1; }
port_open 5672 || { echo "RabbitMQ did not start" >&2; exit 1; }
echo "MariaDB, RabbitMQ, nginx and Chromium are ready"
