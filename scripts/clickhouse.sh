#!/usr/bin/env bash
# Installs and starts a local ClickHouse server for flowhunt's ClickHouse backend and its tests:
# Debian's clickhouse-server (18.16 on bookworm), native protocol on 127.0.0.1:9000, plus a
# two-shard cluster "flowhunt_two_shards" whose shards are both this server, each replica with
# its own default database (flowhunt_shard1, flowhunt_shard2), so a Distributed table whose
# database is '' reads each shard's own local table once (the predefined
# test_cluster_two_shards_localhost would read one table twice).
#
# Idempotent: a server that already answers is left running (the cluster config is still put in
# place; the server reloads remote_servers by itself). Runs as root (or through sudo -n) without
# stdin, as CI does. On failure it prints the end of the server's logs and copies them to
# .artifacts/clickhouse/.
#   bash scripts/clickhouse.sh            # install if needed, start, wait until ready
#   CH_WAIT=120 bash scripts/clickhouse.sh  # wait longer for readiness (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n -E bash "$0" "$@"
  fi
  echo "clickhouse.sh: needs root (or passwordless sudo) to install and start clickhouse-server" >&2
  exit 1
fi

wait_s=${CH_WAIT:-60}
conf_dir=/etc/clickhouse-server
log_dir=/var/log/clickhouse-server
artifacts=.artifacts/clickhouse

ready() { clickhouse-client --host 127.0.0.1 --port 9000 -q 'SELECT 1' >/dev/null 2>&1; }

fail() {
  echo "clickhouse.sh: $*" >&2
  mkdir -p "$artifacts"
  for f in "$log_dir"/clickhouse-server.err.log "$log_dir"/clickhouse-server.log "$log_dir"/stdout.log; do
    if [ -f "$f" ]; then
      cp "$f" "$artifacts/" || true
      echo "---- last lines of $f" >&2
      tail -n 40 "$f" >&2 || true
    fi
  done
  echo "clickhouse.sh: server logs copied to $artifacts/" >&2
  exit 1
}

if ! command -v clickhouse-server >/dev/null || ! command -v clickhouse-client >/dev/null; then
  echo "clickhouse.sh: installing clickhouse-server and clickhouse-client"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq clickhouse-server clickhouse-client </dev/null >/dev/null
fi

mkdir -p "$conf_dir/config.d"
cluster_conf="$conf_dir/config.d/flowhunt-cluster.xml"
new_conf=$(cat <<'EOF'
<yandex>
    <remote_servers>
        <!-- Two shards on this one server: each replica names its own default database, and
             flowhunt's Distributed table names the database as '', so each shard reads its own
             local table. -->
        <flowhunt_two_shards>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>9000</port>
                    <default_database>flowhunt_shard1</default_database>
                </replica>
            </shard>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>9000</port>
                    <default_database>flowhunt_shard2</default_database>
                </replica>
            </shard>
        </flowhunt_two_shards>
    </remote_servers>
</yandex>
EOF
)
if [ ! -f "$cluster_conf" ] || [ "$(cat "$cluster_conf")" != "$new_conf" ]; then
  printf '%s\n' "$new_conf" > "$cluster_conf"
fi

# TLS on the native protocol's secure port (127.0.0.1:9440), with a self-signed certificate for
# 127.0.0.1 and localhost made here once: the TLS tests connect to it, verifying the certificate
# against this file ($tls_dir/server.crt, world-readable) as a user's private CA would be.
tls_dir=$conf_dir/flowhunt-tls
if [ ! -s "$tls_dir/server.crt" ] || [ ! -s "$tls_dir/server.key" ]; then
  command -v openssl >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq openssl </dev/null >/dev/null; }
  mkdir -p "$tls_dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$tls_dir/server.key" -out "$tls_dir/server.crt" 2>/dev/null || fail "openssl could not make a certificate"
  chown -R clickhouse: "$tls_dir"
  chmod 600 "$tls_dir/server.key"
  chmod 644 "$tls_dir/server.crt"
  chmod 755 "$tls_dir"
fi
tls_conf="$conf_dir/config.d/flowhunt-tls.xml"
new_tls="<yandex>
    <tcp_port_secure>9440</tcp_port_secure>
    <openSSL>
        <server>
            <certificateFile>$tls_dir/server.crt</certificateFile>
            <privateKeyFile>$tls_dir/server.key</privateKeyFile>
            <dhParamsFile></dhParamsFile>
            <verificationMode>none</verificationMode>
        </server>
    </openSSL>
</yandex>"
restart=false
if [ ! -f "$tls_conf" ] || [ "$(cat "$tls_conf")" != "$new_tls" ]; then
  printf '%s\n' "$new_tls" > "$tls_conf"
  restart=true # listening ports are read at start only
fi

if ready && $restart; then
  echo "clickhouse.sh: restarting the running server to open the TLS port"
  pkill -f '^clickhouse-server ' || pkill -x clickhouse-serv || true
  for _ in $(seq 1 "$wait_s"); do # until it has let go of its ports
    pgrep -f '^clickhouse-server ' >/dev/null || pgrep -x clickhouse-serv >/dev/null || break
    sleep 1
  done
fi

if ready; then
  echo "clickhouse.sh: server already running on 127.0.0.1:9000"
else
  mkdir -p /var/lib/clickhouse "$log_dir"
  chown -R clickhouse: /var/lib/clickhouse "$log_dir"
  echo "clickhouse.sh: starting clickhouse-server (logs in $log_dir)"
  # The server must outlive this script and its CI step, and hold none of its descriptors: a
  # CI runner waits for every writer of the step's output pipe to close. So: a new session
  # (setsid -f forks), every descriptor above 2 closed, the standard ones to the log; cd / so it
  # does not hold the checkout open.
  (
    cd /
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid -f runuser -u clickhouse -- clickhouse-server --config-file="$conf_dir/config.xml" \
      >"$log_dir/stdout.log" 2>&1 </dev/null
  )
  for _ in $(seq 1 "$wait_s"); do
    ready && break
    sleep 1
  done
  ready || fail "server not ready on 127.0.0.1:9000 after ${wait_s}s"
fi

# The cluster appears once the server has read config.d (at start, or a few seconds after the
# file changed on a running server).
for _ in $(seq 1 "$wait_s"); do
  n=$(clickhouse-client -q "SELECT count() FROM system.clusters WHERE cluster = 'flowhunt_two_shards'" 2>/dev/null || echo 0)
  [ "$n" = 2 ] && break
  sleep 1
done
[ "$n" = 2 ] || fail "cluster flowhunt_two_shards not defined (is $cluster_conf read?)"
for db in flowhunt_shard1 flowhunt_shard2; do
  clickhouse-client -q "CREATE DATABASE IF NOT EXISTS $db" || fail "cannot create database $db"
done
for _ in $(seq 1 "$wait_s"); do
  (exec 3<>/dev/tcp/127.0.0.1/9440) 2>/dev/null && break
  sleep 1
done
(exec 3<>/dev/tcp/127.0.0.1/9440) 2>/dev/null || fail "TLS port 127.0.0.1:9440 not listening (see $tls_conf)"
echo "clickhouse.sh: ClickHouse $(clickhouse-client -q 'SELECT version()') ready on 127.0.0.1:9000 (TLS on 9440), cluster flowhunt_two_shards (2 shards)"
