#!/usr/bin/env bash
# Bounded load test (not part of CI): requests per second of one static JSON handler
# behind certauth's layer (`/plain-auth`: forwarded header, cached authentication)
# versus the same handler without it (`/plain`), and of `/whoami` (the layer plus a
# handler that formats the identity), in one server process on loopback.
#
#   benches/load.sh                 # build, then 3 rounds of 7 s per route (~75 s)
#   ROUNDS=5 DURATION=10s benches/load.sh
#   SKIP_BUILD=1 benches/load.sh    # reuse target/release/examples/bench_server
#
# Needs: wrk (Debian package `wrk`), openssl, curl. The server is
# examples/bench_server.rs (axum_behind_proxy plus an unauthenticated `/plain`); the
# client certificate (ECDSA P-256, root -> intermediate -> leaf, made with openssl in a
# temporary directory) is forwarded as HAProxy sends it: base64 DER in
# `x-ssl-client-cert`, from a trusted proxy (127.0.0.1/32). wrk: -t1 -c16.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-7s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-16}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/examples/bench_server"

for tool in wrk openssl curl; do
    command -v "$tool" >/dev/null || { echo "load.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --example bench_server --features axum,ring
fi

dir=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

# A throwaway PKI: root -> intermediate -> leaf (clientAuth), ECDSA P-256.
(
    cd "$dir"
    ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
    ec root; ec inter; ec leaf
    printf 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' >ca.ext
    printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >leaf.ext
    openssl req -new -x509 -key root.key -subj "/CN=Load Root" -days 30 -sha256 \
        -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
        -out root.pem 2>/dev/null
    openssl req -new -key inter.key -subj "/CN=Load Intermediate" -out inter.csr 2>/dev/null
    openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 \
        -sha256 -extfile ca.ext -out inter.pem 2>/dev/null
    openssl req -new -key leaf.key -subj "/CN=load-client" -out leaf.csr 2>/dev/null
    openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 30 \
        -sha256 -extfile leaf.ext -out leaf.pem 2>/dev/null
    cat root.pem inter.pem >trust.pem
)
header="x-ssl-client-cert: $(openssl x509 -in "$dir/leaf.pem" -outform DER | base64 -w0)"

"$BIN" --listen 127.0.0.1:0 --trust "$dir/trust.pem" --header x-ssl-client-cert \
    --format haproxy-der --trusted-proxy 127.0.0.1/32 >"$dir/server.log" 2>&1 &
server=$!
addr=""
for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on //p' "$dir/server.log")
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { echo "load.sh: server did not start" >&2; cat "$dir/server.log" >&2; exit 1; }

# Both routes answer 200 with the header (and /whoami names the client).
for path in /whoami /plain-auth /plain; do
    code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$header" "http://$addr$path")
    [ "$code" = 200 ] || { echo "load.sh: $path answered $code: $(cat "$dir/body")" >&2; exit 1; }
done
curl -s -H "$header" "http://$addr/whoami" | grep -q 'CN=load-client' \
    || { echo "load.sh: /whoami did not authenticate the client" >&2; exit 1; }

# /plain-auth really is behind the layer: no certificate, no answer.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/plain-auth")
[ "$code" = 401 ] || { echo "load.sh: /plain-auth without a certificate answered $code" >&2; exit 1; }

rps() {
    timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$header" "http://$addr$1" >"$dir/wrk.out"
    if grep -q 'Non-2xx' "$dir/wrk.out"; then
        echo "load.sh: $1 answered non-2xx under load" >&2; cat "$dir/wrk.out" >&2; exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.out"
}

# Warm-up (connection set-up, the first verification fills the cache).
for path in /whoami /plain-auth /plain; do
    timeout 10 wrk -t1 -c"$CONNECTIONS" -d1s -H "$header" "http://$addr$path" >/dev/null
done

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, header x-ssl-client-cert (HAProxy base64 DER, ECDSA P-256 leaf), server $addr"
printf '%-6s %12s %12s %12s %10s %10s\n' round "plain-auth" "plain" "whoami" "auth/plain" "whoami/plain"
# The order rotates between rounds so a drift in machine load does not always favour
# the same route.
ratios=()
whoami_ratios=()
paths=(/plain-auth /plain /whoami)
for round in $(seq "$ROUNDS"); do
    declare -A rate=()
    for k in 0 1 2; do
        path=${paths[$(((k + round) % 3))]}
        rate[$path]=$(rps "$path")
    done
    ratio=$(awk -v a="${rate[/plain-auth]}" -v p="${rate[/plain]}" 'BEGIN { printf "%.3f", a / p }')
    wratio=$(awk -v a="${rate[/whoami]}" -v p="${rate[/plain]}" 'BEGIN { printf "%.3f", a / p }')
    ratios+=("$ratio")
    whoami_ratios+=("$wratio")
    printf '%-6s %12s %12s %12s %10s %10s\n' "$round" "${rate[/plain-auth]}" "${rate[/plain]}" "${rate[/whoami]}" "$ratio" "$wratio"
    unset rate
done
summary() {
    printf '%s\n' "${@:2}" | sort -n | awk -v what="$1" '{ r[NR] = $1 } END { printf "%s: median %s, range %s-%s over %d rounds\n", what, r[int((NR + 1) / 2)], r[1], r[NR], NR }'
}
summary "ratio plain-auth/plain (same handler, with / without the layer)" "${ratios[@]}"
summary "ratio whoami/plain (layer + identity-formatting handler)" "${whoami_ratios[@]}"
