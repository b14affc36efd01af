#!/usr/bin/env bash
# Bounded load tests on loopback (not part of CI), against one server process
# (examples/bench_server.rs: a tokio runtime of WORKERS=2 worker threads).
#
# `benches/load.sh` (or `benches/load.sh layer`): requests per second of one static JSON
# handler behind certauth's layer (`/plain-auth`: forwarded header, cached
# authentication) versus the same handler without it (`/plain`), and of `/whoami` (the
# layer plus a handler that formats the identity).
#
#   benches/load.sh                 # build, then 3 rounds of 7 s per route (~75 s)
#   ROUNDS=5 DURATION=10s benches/load.sh
#   SKIP_BUILD=1 benches/load.sh    # reuse target/release/examples/bench_server
#
# `benches/load.sh attack`: the latency (p50, p99) and rate of cached legitimate requests
# to `/plain-auth`, alone and with a second load generator sending crafted chains
# (examples/attack_chains.rs, certauth::testkit::hostile; by default a leaf and 15 CAs
# named like the real issuer, issued under the anchor's name, padded to the 16 KiB
# header limit) in the same header to the same route (benches/attack.lua): `repeat`
# sends one crafted chain again and again (the failure memory answers), `distinct` a
# chain never seen before on every request (each one verified). Each attack runs paced
# (ATTACK_CONNECTIONS=4 connections, each pausing ATTACK_DELAY_MS=4 ms after every
# answer: at most 1,000 requests/s) and as a flood (FLOOD_CONNECTIONS=2 connections, no
# pause). Every attack request must be refused with 401. Also prints the server's CPU
# time per request of each kind, each alone.
#
#   benches/load.sh attack          # build, then 2 rounds of 5 phases of 5 s (~80 s)
#   ROUNDS=1 ATTACK_KIND=same-name-loop SKIP_BUILD=1 benches/load.sh attack
#   NICE=-10 benches/load.sh attack # on a busy machine: a new session (autogroup) and
#                                   # the server and generators at nice -10 (root)
#   WORKERS=4 benches/load.sh attack    # more runtime workers than attack connections
#   VERIFY_THREADS=0 benches/load.sh attack  # uncached verifications on the runtime's
#                                           # workers (the library default offloads them)
#
# Needs: wrk (Debian package `wrk`; installed with apt-get when missing and run as
# root), openssl, curl. The client certificate (ECDSA P-256, root -> intermediate ->
# leaf, made with openssl in a temporary directory) is forwarded as HAProxy sends it:
# base64 DER in `x-ssl-client-cert`, from a trusted proxy (127.0.0.1/32). Legitimate
# traffic: wrk -t1 -c16.
set -euo pipefail

cd "$(dirname "$0")/.."
MODE=${1:-layer}
case "$MODE" in
    layer) ROUNDS=${ROUNDS:-3} ;;
    attack) ROUNDS=${ROUNDS:-2} ;;
    *) echo "usage: benches/load.sh [layer|attack]" >&2; exit 2 ;;
esac
DURATION=${DURATION:-7s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-16}
WORKERS=${WORKERS:-2}
NICE=${NICE:-0}
VERIFY_THREADS=${VERIFY_THREADS:-}
if [ "$NICE" != 0 ] && [ -z "${LOAD_SH_SESSION:-}" ]; then
    # Nice values only order processes within one autogroup (one session): run in a
    # session of our own and give that group the priority.
    LOAD_SH_SESSION=1 exec setsid -w "$PWD/benches/load.sh" "$@"
fi
if [ "$NICE" != 0 ] && [ -w /proc/self/autogroup ]; then
    echo "$NICE" >/proc/self/autogroup || true
fi
ATTACK_DURATION=${ATTACK_DURATION:-5}
ATTACK_KIND=${ATTACK_KIND:-named-like-issuer}
ATTACK_CONNECTIONS=${ATTACK_CONNECTIONS:-4}
ATTACK_DELAY_MS=${ATTACK_DELAY_MS:-4}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-2}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/examples/bench_server"
ATTACK_BIN="$TARGET/release/examples/attack_chains"

if ! command -v wrk >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null
fi
for tool in wrk openssl curl; do
    command -v "$tool" >/dev/null || { echo "load.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --example bench_server --example attack_chains \
        --features axum,ring,testkit
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

: >"$dir/server.log" # before the server's own redirection, which runs in the background
nice -n "$NICE" "$BIN" --listen 127.0.0.1:0 --trust "$dir/trust.pem" --header x-ssl-client-cert \
    --format haproxy-der --trusted-proxy 127.0.0.1/32 --workers "$WORKERS" \
    ${VERIFY_THREADS:+--verification-threads "$VERIFY_THREADS"} >"$dir/server.log" 2>&1 &
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

# Microseconds from a wrk latency figure ("126.00us", "1.20ms", "2.00s").
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000; else if (v ~ /s$/) f = 1000000; else f = 1
        printf "%.0f", n * f
    }'
}

# CPU time of the server process so far, in clock ticks (utime + stime).
server_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$server/stat"
}

# One phase: legitimate traffic for ATTACK_DURATION seconds (unless `legit` is `off`),
# with an attack generator running around it (from 0.5 s before to 0.5 s after) unless
# the mode is `none`. Prints: legit_rps p50_us p99_us attack_rps attack_statuses
# attack_requests server_cores server_cpu_us.
phase() {
    local legit=$1 mode=$2 conns=$3 delay=$4 attack=""
    local t0 c0 t1 c1
    t0=$(date +%s%N)
    c0=$(server_ticks)
    if [ "$mode" != none ]; then
        timeout 60 nice -n "$NICE" wrk -t1 -c"$conns" -d"$((ATTACK_DURATION + 1))s" -s benches/attack.lua \
            "http://$addr/plain-auth" -- "$dir/chains" "$mode" "$delay" >"$dir/attack.out" &
        attack=$!
        sleep 0.5
    fi
    if [ "$legit" = on ]; then
        timeout 60 nice -n "$NICE" wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${ATTACK_DURATION}s" \
            -H "$header" "http://$addr/plain-auth" >"$dir/legit.out"
    else
        sleep "$ATTACK_DURATION"
        printf 'Requests/sec: 0\n 50%% 0us\n 99%% 0us\n' >"$dir/legit.out"
    fi
    if [ -n "$attack" ]; then wait "$attack"; fi
    c1=$(server_ticks)
    t1=$(date +%s%N)
    if grep -q 'Non-2xx' "$dir/legit.out"; then
        echo "load.sh: legitimate requests refused under attack" >&2; cat "$dir/legit.out" >&2; exit 1
    fi
    local rps p50 p99 arps="-" astat="-" areqs=0
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$dir/legit.out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$dir/legit.out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$dir/legit.out")")
    if [ -n "$attack" ]; then
        arps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$dir/attack.out")
        astat=$(sed -n 's/^attack: [0-9]* //p' "$dir/attack.out" | tr ' ' ',')
        areqs=$(sed -n 's/^attack: \([0-9]*\) .*/\1/p' "$dir/attack.out")
        # Every attack request is refused by verification (401), none admitted, none
        # cut short by a size limit (400).
        if ! grep -Eq '^attack: [0-9]+ 401=[0-9]+$' "$dir/attack.out"; then
            echo "load.sh: attack requests not all refused with 401" >&2; cat "$dir/attack.out" >&2; exit 1
        fi
    fi
    local cores cpu_us
    cores=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v ns="$((t1 - t0))" \
        'BEGIN { printf "%.2f", c / hz / (ns / 1e9) }')
    cpu_us=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", c / hz * 1e6 }')
    echo "$rps $p50 $p99 $arps $astat $areqs $cores $cpu_us"
}

attack_test() {
    "$ATTACK_BIN" --kind "$ATTACK_KIND" --issuer "Load Intermediate" --anchor "Load Root" \
        >"$dir/chains"
    local value
    value=$(sed -n 1p "$dir/chains")
    # A crafted chain reaches verification and is refused there (401), both the repeated
    # one and a varied one.
    for h in "$value" "$(sed -n 2p "$dir/chains")AAAAAAAB$(sed -n 3p "$dir/chains")"; do
        code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "x-ssl-client-cert: $h" "http://$addr/plain-auth")
        [ "$code" = 401 ] || { echo "load.sh: a crafted chain answered $code: $(cat "$dir/body")" >&2; exit 1; }
    done

    # Warm-up (connection set-up, the first verification fills the cache).
    timeout 10 nice -n "$NICE" wrk -t1 -c"$CONNECTIONS" -d1s -H "$header" "http://$addr/plain-auth" >/dev/null

    echo "legitimate: wrk -t$THREADS -c$CONNECTIONS -d${ATTACK_DURATION}s --latency, /plain-auth (cached);" \
        "attack: wrk -t1 -s benches/attack.lua, $ATTACK_KIND, ${#value}-byte header value;" \
        "paced: -c$ATTACK_CONNECTIONS, ${ATTACK_DELAY_MS} ms pause per request; flood: -c$FLOOD_CONNECTIONS;" \
        "server $addr, $WORKERS workers${VERIFY_THREADS:+, --verification-threads $VERIFY_THREADS}," \
        "$(nproc) cores shared with both generators"
    local rps p50 p99 arps astat areqs cores cpu
    echo "server CPU per request, each alone (${ATTACK_DURATION} s):"
    read -r rps p50 p99 arps astat areqs cores cpu <<<"$(phase on none 0 0)"
    awk -v c="$cpu" -v r="$rps" -v d="$ATTACK_DURATION" -v k="$cores" \
        'BEGIN { printf "  legitimate (cached)     %7.1f µs  (%s req/s, server %s cores)\n", c / (r * d), r, k }'
    for mode in repeat distinct; do
        read -r rps p50 p99 arps astat areqs cores cpu <<<"$(phase off "$mode" "$FLOOD_CONNECTIONS" 0)"
        awk -v c="$cpu" -v n="$areqs" -v m="$mode" -v r="$arps" -v k="$cores" \
            'BEGIN { printf "  attack %-8s flood  %7.1f µs  (%s req/s, server %s cores)\n", m, c / n, r, k }'
    done

    printf '%-5s %-15s %8s %7s %7s %7s %7s %8s %7s\n' round phase "legit/s" "p50 µs" "p99 µs" \
        "p50 x" "p99 x" "attack/s" "cores"
    local names=(none repeat-paced distinct-paced repeat-flood distinct-flood)
    declare -A worst=()
    for round in $(seq "$ROUNDS"); do
        local base50="" base99=""
        # The baseline first in every round; the attacks in a rotating order.
        local order=(none)
        for k in 0 1 2 3; do order+=("${names[$((1 + (k + round - 1) % 4))]}"); done
        for name in "${order[@]}"; do
            local out
            case "$name" in
                none) out=$(phase on none 0 0) ;;
                repeat-paced) out=$(phase on repeat "$ATTACK_CONNECTIONS" "$ATTACK_DELAY_MS") ;;
                distinct-paced) out=$(phase on distinct "$ATTACK_CONNECTIONS" "$ATTACK_DELAY_MS") ;;
                repeat-flood) out=$(phase on repeat "$FLOOD_CONNECTIONS" 0) ;;
                distinct-flood) out=$(phase on distinct "$FLOOD_CONNECTIONS" 0) ;;
            esac
            read -r rps p50 p99 arps astat areqs cores cpu <<<"$out"
            if [ "$name" = none ]; then base50=$p50; base99=$p99; fi
            local r50 r99
            r50=$(awk -v a="$p50" -v b="$base50" 'BEGIN { printf "%.2f", a / b }')
            r99=$(awk -v a="$p99" -v b="$base99" 'BEGIN { printf "%.2f", a / b }')
            worst[$name]=$(printf '%s\n' "$r50" "$r99" "${worst[$name]:-0}" | sort -g | tail -1)
            printf '%-5s %-15s %8s %7s %7s %7s %7s %8s %7s\n' "$round" "$name" "$rps" "$p50" "$p99" \
                "$r50" "$r99" "$arps" "$cores"
        done
    done
    echo "target: under attack, the legitimate p50 and p99 within 2x of the same round's baseline"
    for name in "${names[@]:1}"; do
        awk -v n="$name" -v w="${worst[$name]}" \
            'BEGIN { printf "  %-15s worst %.2fx: %s\n", n, w, (w <= 2 ? "met" : "MISSED") }'
    done
}

if [ "$MODE" = attack ]; then
    attack_test
    exit 0
fi

rps() {
    timeout 60 nice -n "$NICE" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$header" "http://$addr$1" >"$dir/wrk.out"
    if grep -q 'Non-2xx' "$dir/wrk.out"; then
        echo "load.sh: $1 answered non-2xx under load" >&2; cat "$dir/wrk.out" >&2; exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.out"
}

# Warm-up (connection set-up, the first verification fills the cache).
for path in /whoami /plain-auth /plain; do
    timeout 10 nice -n "$NICE" wrk -t1 -c"$CONNECTIONS" -d1s -H "$header" "http://$addr$path" >/dev/null
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
