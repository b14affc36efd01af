#!/usr/bin/env bash
# The PostgreSQL registry against a real server: starts a throwaway PostgreSQL cluster
# (trust authentication, 127.0.0.1 on a free port, data in a temporary directory), runs
# the `postgres` test binary (tests/postgres/main.rs: replicas, faults with the server
# restarted and killed, concurrent writers, propagation, throughput) and the walkthrough
# examples/postgres_registry.rs twice (the second run finds the schema in place), and
# removes the cluster on exit. Every step is bounded by `timeout`.
#
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql; tests/run
# installs it). They are found on PATH, in $PGBIN, or in /usr/lib/postgresql/*/bin.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
# (or a dedicated `certauth-pg` system user when there is none).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'tests/postgres: %s\n' "$*" >&2; }

# The server binaries.
if [ -z "${PGBIN:-}" ]; then
  if command -v initdb >/dev/null; then
    PGBIN=$(dirname "$(command -v initdb)")
  else
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  say "PostgreSQL server binaries not found (install Debian's postgresql, or set PGBIN)"
  exit 1
fi

# Build first, as the calling user, so the server runs only as long as the checks do.
features=postgres,testkit,ring,cli
cargo build --quiet --features "$features" --example postgres_registry
example=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/examples/postgres_registry
[ -x "$example" ] || { say "example binary not found at $example"; exit 1; }
cargo build --quiet --features "$features,axum,rustls" --example axum_behind_proxy --bin certauth
bin_dir=$(dirname "$example")/..
server_bin="$bin_dir/examples/axum_behind_proxy"
cli_bin="$bin_dir/certauth"
[ -x "$server_bin" ] && [ -x "$cli_bin" ] || { say "server or certauth binary not found"; exit 1; }
tests=$(cargo test --quiet --features "$features" --test postgres --no-run --message-format=json |
  grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$tests" ] || { say "test binary not found"; exit 1; }

# Who runs the server.
as_server=()
if [ "$(id -u)" = 0 ]; then
  server_user=postgres
  if ! id "$server_user" >/dev/null 2>&1; then
    server_user=certauth-pg
    id "$server_user" >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin "$server_user"
  fi
  as_server=(runuser -u "$server_user" --)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certauth-pg.XXXXXX")
data="$tmp/data"
log="$tmp/server.log"
started=
cleanup() {
  status=$?
  if [ -n "$started" ]; then
    "${as_server[@]}" "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "$status" != 0 ] && [ -f "$log" ]; then
    say "server log:"; tail -n 30 "$log" >&2 || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "${#as_server[@]}" = 0 ] || chown "$server_user" "$tmp"

cd "$tmp" # the server user may not be able to read the checkout's directory
"${as_server[@]}" "$PGBIN/initdb" -D "$data" -U certauth -A trust -E UTF8 --locale=C --no-sync \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }

# TLS to the database: a throwaway CA and a server certificate for 127.0.0.1 (rustls
# checks it against the wall clock, so it is valid from now for two days). The role
# `certauth_tls` may connect over TLS only, so a test that connects as it proves TLS.
tls_dir="$tmp/tls"
mkdir "$tls_dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" -days 2 \
  -subj "/CN=certauth test database CA" 2>/dev/null
openssl req "${ec[@]}" -keyout "$data/server.key" -out "$tls_dir/server.csr" \
  -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
  >"$tls_dir/server.ext"
openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
  -CAcreateserial -days 2 -extfile "$tls_dir/server.ext" -out "$data/server.crt" 2>/dev/null
chmod 600 "$data/server.key"
[ "${#as_server[@]}" = 0 ] || chown "$server_user" "$data/server.key" "$data/server.crt"
hba=$(cat "$data/pg_hba.conf")
printf 'hostnossl all certauth_tls all reject\nhostssl all certauth_tls 127.0.0.1/32 trust\n%s\n' \
  "$hba" >"$data/pg_hba.conf"
export CERTAUTH_PG_TLS_ROOT="$tls_dir/ca.pem"

# A free port: none listening on 127.0.0.1; retried if another process takes it first.
# The settings go into postgresql.conf, so the fault tests' `pg_ctl start` and
# `restart` bring the server back on the same port.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cp "$data/postgresql.conf" "$tmp/postgresql.conf.orig"
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  { cat "$tmp/postgresql.conf.orig"
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 200\n" "$port" "$tmp"
    printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
  } >"$data/postgresql.conf"
  if "${as_server[@]}" "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 30 -s start; then
    started=1
    break
  fi
  say "start on port $port failed (attempt $attempt)"
done
[ -n "$started" ] || { say "could not start PostgreSQL"; exit 1; }
say "$("$PGBIN/postgres" --version) on 127.0.0.1:$port (data in $data)"

export DATABASE_URL="host=127.0.0.1 port=$port user=certauth dbname=postgres connect_timeout=10"
export CERTAUTH_PG_CTL="${as_server[*]} $PGBIN/pg_ctl -D $data -l $log"
export CERTAUTH_REQUIRE_POSTGRES=1
# The library against the server: about 15 s here; bounded at 5 minutes.
timeout 300 "$tests" --test-threads 4 --nocapture 2>&1 | sed 's/^/  /'
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || { say "the postgres tests failed ($status)"; exit 1; }
# Two reference-server processes on one registry database: a change made with the
# operator's tool is obeyed by both within the staleness bound (1 s; 3 s allowed here).
pki=$OLDPWD/tests/data/pki
cli_db() { timeout 30 "$cli_bin" registry --database-url "$DATABASE_URL" "$@"; }
cli_db migrate >/dev/null
cli_db add-client billing >/dev/null
cli_db register billing --cert "$pki/leaf-ec.pem" >/dev/null
leaf_b64=$(openssl x509 -in "$pki/leaf-ec.pem" -outform DER | base64 -w0)
pids=()
stop_servers() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap 'stop_servers; cleanup' EXIT
# Replica 1 takes the URL as a flag; replica 2 from the environment, over TLS only (the
# role certauth_tls may not connect in the clear), trusting the database's CA.
timeout 120 "$server_bin" --listen 127.0.0.1:0 --trust "$pki/ca-bundle.pem" \
  --header x-client-cert --format base64-der --trusted-proxy 127.0.0.1/32 \
  --registry-url "$DATABASE_URL" >"$tmp/server-1.out" 2>&1 &
pids+=($!)
CERTAUTH_REGISTRY_URL="$DATABASE_URL user=certauth_tls" timeout 120 "$server_bin" \
  --listen 127.0.0.1:0 --trust "$pki/ca-bundle.pem" \
  --header x-client-cert --format base64-der --trusted-proxy 127.0.0.1/32 \
  --registry-ca "$CERTAUTH_PG_TLS_ROOT" >"$tmp/server-2.out" 2>&1 &
pids+=($!)
addrs=()
for replica in 1 2; do
  for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on //p' "$tmp/server-$replica.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$tmp/server-$replica.out" >&2; say "server $replica did not start"; exit 1; }
  addrs+=("$addr")
done
status_of() { curl -s -o /dev/null -w '%{http_code}' -H "x-client-cert: $leaf_b64" "http://$1/whoami"; }
# Both servers answer `want` within 3 s.
expect_both() {
  local want=$1 deadline=$((SECONDS + 3)) addr got
  for addr in "${addrs[@]}"; do
    until got=$(status_of "$addr"); [ "$got" = "$want" ]; do
      [ "$SECONDS" -lt "$deadline" ] || { say "server $addr: $got, want $want"; exit 1; }
      sleep 0.02
    done
  done
}
expect_both 200
# /healthz: the registry answers and the replica's cache is synchronised (within 3 s).
for addr in "${addrs[@]}"; do
  deadline=$((SECONDS + 3))
  until health=$(curl -s "http://$addr/healthz")
    [[ $health == *'"registry_reachable":true'*'"registry_synchronised":true'* ]]; do
    [ "$SECONDS" -lt "$deadline" ] || { say "server $addr: /healthz $health"; exit 1; }
    sleep 0.05
  done
done
cli_db suspend billing >/dev/null
expect_both 403
cli_db activate billing >/dev/null
expect_both 200
cli_db remove billing >/dev/null
expect_both 403
stop_servers
say "two reference servers on one database: registration, suspension, activation, removal seen by both"

for run in 1 2; do
  out="$tmp/example-$run.out"
  if ! timeout 60 "$example" >"$out" 2>&1; then
    cat "$out" >&2
    say "run $run: the example failed"
    exit 1
  fi
  sed 's/^/  /' "$out"
  grep -qx 'postgres_registry: all checks passed' "$out" ||
    { say "run $run: the example did not report success"; exit 1; }
done
say "tests and 2 example runs passed"
