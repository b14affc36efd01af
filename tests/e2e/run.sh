#!/usr/bin/env bash
# End-to-end tests with real components. Run by tests/run; needs openssl, curl,
# python3, nginx, haproxy and apache2 (Debian packages; tests/run installs them).
#
#   tests/e2e/run.sh            # builds the examples, then runs every case
#   E2E_KEEP=1 tests/e2e/run.sh # keep the temp dir (PKI, configs, logs) for a look
#
# 1. makes a throwaway PKI with openssl (root, intermediate with cRLSign, a localhost
#    server cert, clients valid / expired / unknown CA / revoked, and a CRL with a number);
# 2. starts examples/axum_behind_proxy once per proxy and format, trusting 127.0.0.1/32;
# 3. runs nginx, HAProxy (base64 DER and RFC 9440) and Apache on loopback with the
#    forwarding configuration the README's recipes show, asking for a client certificate
#    without judging it, so that certauth decides;
# 4. drives them with curl: valid, expired, unknown CA, revoked, no certificate, and a
#    forged header sent straight to the backend from 127.0.0.2 (not a trusted proxy);
# 5. does the same with curl and openssl s_client against examples/axum_mtls;
# 6. serves a CRL over HTTP to examples/axum_behind_proxy (--crl URL --watch) and
#    revokes a client mid-run;
# 7. runs OpenSSL's OCSP responder over the CA database, and examples/axum_behind_proxy
#    --ocsp behind a second nginx: good, revoked, no responder named, responder down;
# 8. checks clients against the CRL their own distribution point names.
# Prints one PASS/FAIL line per case; exits non-zero if any case failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin" # Debian keeps nginx, apache2 and haproxy there

for tool in openssl curl python3 nginx haproxy apache2 basenc; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is missing (tests/run installs it)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certauth-e2e.XXXXXX")
pids=()
cleanup() {
  local status=$?
  trap '' INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do { wait "$pid"; } 2>/dev/null || true; done
  if [ -n "${E2E_KEEP:-}" ]; then echo "e2e: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# As root, nginx workers and Apache children run as another user: let them reach their
# runtime files. The keys inside stay readable by their owner only.
chmod 755 "$tmp"

# ---------------------------------------------------------------------------------------
# 1. PKI
pki=$tmp/pki
mkdir -p "$pki/ca/newcerts"
touch "$pki/ca/index.txt"
echo 1000 >"$pki/ca/serial"
echo 01 >"$pki/ca/crlnumber"
cat >"$pki/openssl.cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = intermediate_ca
[ intermediate_ca ]
dir = $pki/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $pki/intermediate.pem
private_key = $pki/intermediate.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
organizationName = optional
[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ intermediate_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://e2e.test/ns/e2e/sa/client
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF

pki() { openssl "$@" 2>>"$pki/openssl.log"; }
key() { pki genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key"; }
csr() { key "$1"; pki req -new -config "$pki/openssl.cnf" -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr"; }
self_signed_root() {
  key "$1"
  pki req -new -x509 -config "$pki/openssl.cnf" -key "$pki/$1.key" -subj "$2" -days 3650 \
    -extensions root_ext -out "$pki/$1.pem"
}
# issue NAME EXTENSIONS [openssl ca options]: signed by the intermediate
issue() {
  local name=$1 ext=$2
  shift 2
  csr "$name" "/O=certauth e2e/CN=$name"
  pki ca -batch -notext -config "$pki/openssl.cnf" -extensions "$ext" -in "$pki/$name.csr" \
    -out "$pki/$name.pem" "$@"
  cat "$pki/$name.pem" "$pki/intermediate.pem" >"$pki/$name-chain.pem"
}

self_signed_root root "/O=certauth e2e/CN=certauth e2e root"
csr intermediate "/O=certauth e2e/CN=certauth e2e intermediate"
pki x509 -req -in "$pki/intermediate.csr" -CA "$pki/root.pem" -CAkey "$pki/root.key" \
  -set_serial 0x200 -days 3650 -sha256 -extfile "$pki/openssl.cnf" -extensions intermediate_ext \
  -out "$pki/intermediate.pem"
issue server server_ext -subj "/CN=localhost"
issue valid client_ext
issue expired client_ext -startdate 20200101000000Z -enddate 20210101000000Z
issue revoked client_ext
# nginx's own client certificate for its mTLS connections to a backend
issue nginx-proxy client_ext
pki ca -batch -config "$pki/openssl.cnf" -revoke "$pki/revoked.pem" -crl_reason keyCompromise
pki ca -batch -config "$pki/openssl.cnf" -gencrl -crlexts crl_ext -out "$pki/crl.pem"
# "unknown": a clientAuth certificate from a root certauth does not trust
self_signed_root other-root "/O=someone else/CN=other root"
csr unknown "/O=someone else/CN=unknown"
pki x509 -req -in "$pki/unknown.csr" -CA "$pki/other-root.pem" -CAkey "$pki/other-root.key" \
  -set_serial 0x300 -days 30 -sha256 -extfile "$pki/openssl.cnf" -extensions client_ext \
  -out "$pki/unknown.pem"
cp "$pki/unknown.pem" "$pki/unknown-chain.pem"
# what certauth trusts: the root and the intermediate (the proxies forward the leaf only)
cat "$pki/root.pem" "$pki/intermediate.pem" >"$pki/trust.pem"
# HAProxy wants the certificate chain and the key in one file
cat "$pki/server-chain.pem" "$pki/server.key" >"$pki/server-combined.pem"

thumbprint() { # x5t#S256 of a PEM certificate
  openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '='
}
valid_x5t=$(thumbprint "$pki/valid.pem")

# ---------------------------------------------------------------------------------------
# 2. The backends (examples), built once
echo "e2e: building the examples" >&2
cargo build --quiet --examples --features axum-tls,ring,metrics,ocsp
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
examples=$target_dir/debug/examples
started=$SECONDS

logs=$tmp/logs
mkdir -p "$logs"

# start NAME PROGRAM ARGS...: runs a server in the background, logging to $logs/NAME.log
start() {
  local name=$1
  shift
  : >"$logs/$name.log" # exists before the background job gets to redirect into it
  "$@" >>"$logs/$name.log" 2>&1 &
  pids+=($!)
}
die_with_log() {
  echo "e2e: $1" >&2
  sed 's/^/    /' "$2" >&2 || true
  exit 1
}
# backend NAME PROGRAM ARGS...: starts an example on a free port and sets $addr to its address
backend() {
  local name=$1
  shift
  start "$name" "$@" --listen 127.0.0.1:0
  local pid=${pids[-1]} i
  for ((i = 0; i < 200; i++)); do
    addr=$(sed -n 's/^listening on //p' "$logs/$name.log")
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || die_with_log "$name exited" "$logs/$name.log"
    sleep 0.05
  done
  die_with_log "$name did not start" "$logs/$name.log"
}
behind_proxy() { # NAME HEADER FORMAT [ARGS...]
  local name=$1 header=$2 format=$3
  shift 3
  backend "$name" "$examples/axum_behind_proxy" --trust "$pki/trust.pem" --crl "$pki/crl.pem" \
    --trusted-proxy 127.0.0.1/32 --header "$header" --format "$format" "$@"
}

behind_proxy backend-nginx x-ssl-client-cert nginx-escaped
nginx_backend=$addr
# the same, also requiring nginx's own verdict ($ssl_client_verify) beside the certificate
behind_proxy backend-nginx-verify x-ssl-client-cert nginx-escaped \
  --verify-header x-ssl-client-verify=SUCCESS
nginx_verify_backend=$addr
# proxy-to-backend mTLS: no trusted address, only nginx's certificate (CN=nginx-proxy)
behind_proxy_args=(--cert "$pki/server-chain.pem" --key "$pki/server.key"
  --proxy-trust "$pki/trust.pem" --trusted-proxy-identity cn:nginx-proxy)
backend backend-nginx-mtls "$examples/axum_behind_proxy" --trust "$pki/trust.pem" \
  --crl "$pki/crl.pem" --header x-ssl-client-cert --format nginx-escaped "${behind_proxy_args[@]}"
nginx_mtls_backend=$addr
behind_proxy backend-haproxy-der x-ssl-client-cert haproxy-der
haproxy_der_backend=$addr
behind_proxy backend-haproxy-rfc9440 client-cert rfc9440
haproxy_rfc9440_backend=$addr
behind_proxy backend-apache x-ssl-client-cert apache
apache_backend=$addr
backend axum-mtls "$examples/axum_mtls" --trust "$pki/trust.pem" --crl "$pki/crl.pem" \
  --cert "$pki/server-chain.pem" --key "$pki/server.key"
mtls_addr=$addr

# ---------------------------------------------------------------------------------------
# 3. The proxies, each as the current user with every path under $tmp
read -r nginx_port haproxy_der_port haproxy_rfc9440_port apache_port nginx_verify_port \
  nginx_mtls_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

wait_for_port() { # NAME PORT
  local pid=${pids[-1]} i
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die_with_log "$1 exited" "$logs/$1.log"
    sleep 0.05
  done
  die_with_log "$1 did not listen on $2" "$logs/$1.log"
}

# nginx: $ssl_client_escaped_cert (the leaf, URL-encoded PEM; no header without a certificate)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $logs/nginx.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;

    server {
        listen 127.0.0.1:$nginx_port ssl;
        server_name localhost;
        ssl_certificate     $pki/server-chain.pem;
        ssl_certificate_key $pki/server.key;
        # ask for a client certificate, let certauth judge it
        ssl_verify_client optional_no_ca;

        location / {
            proxy_pass http://$nginx_backend;
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
        }
    }

    # nginx verifies too (optional_no_ca: failures reach the backend as FAILED:reason) and
    # forwards its verdict; the backend requires SUCCESS and still verifies the chain
    server {
        listen 127.0.0.1:$nginx_verify_port ssl;
        server_name localhost;
        ssl_certificate     $pki/server-chain.pem;
        ssl_certificate_key $pki/server.key;
        ssl_client_certificate $pki/trust.pem;
        ssl_verify_depth 3;
        ssl_verify_client optional_no_ca;

        location / {
            proxy_pass http://$nginx_verify_backend;
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
            proxy_set_header X-SSL-Client-Verify \$ssl_client_verify;
        }
    }

    # nginx authenticates itself to the backend with its own client certificate
    server {
        listen 127.0.0.1:$nginx_mtls_port ssl;
        server_name localhost;
        ssl_certificate     $pki/server-chain.pem;
        ssl_certificate_key $pki/server.key;
        ssl_verify_client optional_no_ca;

        location / {
            proxy_pass https://$nginx_mtls_backend;
            proxy_ssl_certificate     $pki/nginx-proxy-chain.pem;
            proxy_ssl_certificate_key $pki/nginx-proxy.key;
            proxy_ssl_trusted_certificate $pki/root.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
        }
    }
}
EOF
start nginx nginx -e "$logs/nginx.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;'
wait_for_port nginx "$nginx_port"

# HAProxy: base64 DER (empty value without a certificate) and RFC 9440 (`::` without one)
cat >"$tmp/haproxy.cfg" <<EOF
global
    log stderr format short local0 warning

defaults
    mode http
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe_der
    bind 127.0.0.1:$haproxy_der_port ssl crt $pki/server-combined.pem ca-file $pki/root.pem verify optional crt-ignore-err all ca-ignore-err all
    http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
    default_backend be_der

frontend fe_rfc9440
    bind 127.0.0.1:$haproxy_rfc9440_port ssl crt $pki/server-combined.pem ca-file $pki/root.pem verify optional crt-ignore-err all ca-ignore-err all
    http-request set-header Client-Cert :%[ssl_c_der,base64]:
    default_backend be_rfc9440

backend be_der
    server certauth $haproxy_der_backend

backend be_rfc9440
    server certauth $haproxy_rfc9440_backend
EOF
start haproxy haproxy -db -f "$tmp/haproxy.cfg"
wait_for_port haproxy "$haproxy_der_port"
wait_for_port haproxy "$haproxy_rfc9440_port"

# Apache: mod_ssl %{SSL_CLIENT_CERT}s (PEM, line breaks as spaces; `(null)` without one)
mkdir -p "$tmp/apache/run"
modules=/usr/lib/apache2/modules
{
  cat <<EOF
ServerRoot $tmp/apache
ServerName localhost
DefaultRuntimeDir $tmp/apache/run
PidFile $tmp/apache/run/apache2.pid
ErrorLog $logs/apache.log
LogLevel warn
EOF
  if [ "$(id -u)" = 0 ]; then
    # root: Apache refuses to keep serving as root; its children need a real user
    user=www-data
    getent passwd "$user" >/dev/null || user=nobody
    printf 'User %s\nGroup %s\n' "$user" "$(id -gn "$user")"
  fi
  cat <<EOF
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule socache_shmcb_module $modules/mod_socache_shmcb.so
LoadModule ssl_module $modules/mod_ssl.so
LoadModule headers_module $modules/mod_headers.so
LoadModule proxy_module $modules/mod_proxy.so
LoadModule proxy_http_module $modules/mod_proxy_http.so
SSLSessionCache shmcb:$tmp/apache/run/ssl_scache(512000)
Listen 127.0.0.1:$apache_port

<VirtualHost 127.0.0.1:$apache_port>
    SSLEngine on
    SSLCertificateFile $pki/server-chain.pem
    SSLCertificateKeyFile $pki/server.key
    # ask for a client certificate, let certauth judge it
    SSLVerifyClient optional_no_ca
    RequestHeader set X-SSL-Client-Cert "%{SSL_CLIENT_CERT}s"
    ProxyPass / http://$apache_backend/
</VirtualHost>
EOF
} >"$tmp/apache/apache2.conf"
start apache apache2 -d "$tmp/apache" -f "$tmp/apache/apache2.conf" -DFOREGROUND
wait_for_port apache "$apache_port"

# ---------------------------------------------------------------------------------------
# 4. The cases
failures=0
cases=0
report() { # PROXY CASE EXPECTED GOT
  cases=$((cases + 1))
  if [ "$3" = "$4" ]; then
    printf 'PASS %-16s %-9s %s\n' "$1" "$2" "$3"
  else
    failures=$((failures + 1))
    printf 'FAIL %-16s %-9s expected [%s] got [%s]\n' "$1" "$2" "$3" "$4"
  fi
}
json() { # FIELD FILE: a string field of the compact JSON body
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$2"
}
# outcome CURL-ARGS...: "STATUS x5t=... source=..." for 200, "STATUS ERROR-KIND" for
# certauth's refusals, "STATUS proxy: TITLE" for a proxy's own HTML error page, "alert NAME"
# for a refused TLS handshake, "curl exit N" for any other curl failure
outcome() {
  local body=$tmp/body status rc=0 alert
  : >"$body"
  status=$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' "$@" 2>"$tmp/curl.err") || rc=$?
  if [ "$rc" != 0 ]; then
    alert=$(grep -o 'alert [a-z ]*' "$tmp/curl.err" | head -n 1)
    echo "${alert:-curl exit $rc}"
  elif [ "$status" = 200 ]; then
    echo "200 x5t=$(json 'x5t#S256' "$body") source=$(json source "$body")"
  elif grep -q '"error"' "$body"; then
    echo "$status $(json error "$body")"
  else
    echo "$status proxy: $(sed -n 's/.*<title>\(.*\)<\/title>.*/\1/p' "$body" | head -n 1)"
  fi
}
as_client() { # CASE URL [CURL-ARGS...]: outcome of an HTTPS request presenting CASE's certificate
  local case=$1 url=$2
  shift 2
  if [ "$case" = none ]; then
    outcome --cacert "$pki/root.pem" "$@" "$url"
  else
    outcome --cacert "$pki/root.pem" --cert "$pki/$case-chain.pem" --key "$pki/$case.key" "$@" "$url"
  fi
}

# proxy_cases PROXY PORT HEADER BACKEND FORGED-VALUE [EXPIRED-OUTCOME]
# With "optional_no_ca" nginx and Apache leave only CA errors to the backend: they refuse an
# expired certificate themselves (nginx its own 400 page, Apache the TLS alert). HAProxy's
# crt-ignore-err all forwards it, so certauth answers 401 expired.
proxy_cases() {
  local proxy=$1 port=$2 header=$3 backend=$4 forged=$5 expired=${6:-401 expired} url c
  url=https://localhost:$port/whoami
  report "$proxy" valid "200 x5t=$valid_x5t source=header:$header" "$(as_client valid "$url")"
  report "$proxy" expired "$expired" "$(as_client expired "$url")"
  for c in unknown:unknown_issuer revoked:revoked none:no_certificate; do
    report "$proxy" "${c%%:*}" "401 ${c#*:}" "$(as_client "${c%%:*}" "$url")"
  done
  # a client without a certificate that sets the header itself: the proxy replaces it
  report "$proxy" spoofed "401 no_certificate" "$(as_client none "$url" -H "$header: $forged")"
  # straight to the backend from an address that is not a trusted proxy
  report "$proxy" forged "400 untrusted_source" \
    "$(outcome --interface 127.0.0.2 -H "$header: $forged" "http://$backend/whoami")"
}

valid_b64=$(openssl x509 -in "$pki/valid.pem" -outform DER | base64 -w0)
valid_escaped=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$pki/valid.pem")
valid_spaced=$(tr '\n' ' ' <"$pki/valid.pem")

proxy_cases nginx "$nginx_port" x-ssl-client-cert "$nginx_backend" "$valid_escaped" \
  "400 proxy: 400 The SSL certificate error"
proxy_cases haproxy-der "$haproxy_der_port" x-ssl-client-cert "$haproxy_der_backend" "$valid_b64"
proxy_cases haproxy-rfc9440 "$haproxy_rfc9440_port" client-cert "$haproxy_rfc9440_backend" ":$valid_b64:"
proxy_cases apache "$apache_port" x-ssl-client-cert "$apache_backend" "$valid_spaced" \
  "alert certificate expired"

# nginx forwarding its own verdict: an unknown CA is refused on nginx's word
# (proxy_verification_failed); certauth still finds what nginx does not check (the CRL)
url=https://localhost:$nginx_verify_port/whoami
report nginx-verify valid "200 x5t=$valid_x5t source=header:x-ssl-client-cert" "$(as_client valid "$url")"
for c in unknown:proxy_verification_failed revoked:revoked none:no_certificate; do
  report nginx-verify "${c%%:*}" "401 ${c#*:}" "$(as_client "${c%%:*}" "$url")"
done
report nginx-verify spoofed "401 no_certificate" "$(as_client none "$url" \
  -H "x-ssl-client-cert: $valid_escaped" -H "x-ssl-client-verify: SUCCESS")"
report nginx-verify forged "401 proxy_verification_failed" \
  "$(outcome -H "x-ssl-client-cert: $valid_escaped" "http://$nginx_verify_backend/whoami")"

# nginx trusted by its mTLS certificate, whatever its address
url=https://localhost:$nginx_mtls_port/whoami
report nginx-mtls valid "200 x5t=$valid_x5t source=header:x-ssl-client-cert" "$(as_client valid "$url")"
for c in unknown:unknown_issuer revoked:revoked none:no_certificate; do
  report nginx-mtls "${c%%:*}" "401 ${c#*:}" "$(as_client "${c%%:*}" "$url")"
done
# straight to the backend with a valid certificate that is not nginx's, and without any
url=https://localhost:${nginx_mtls_backend##*:}/whoami
report nginx-mtls forged "400 untrusted_source" \
  "$(as_client valid "$url" -H "x-ssl-client-cert: $valid_escaped")"
report nginx-mtls forged-no-cert "alert certificate required" \
  "$(as_client none "$url" -H "x-ssl-client-cert: $valid_escaped")"

# certauth terminates mTLS itself: a refused certificate fails the handshake with an alert
mtls_port=${mtls_addr##*:}
url=https://localhost:$mtls_port/whoami
report axum_mtls valid "200 x5t=$valid_x5t source=tls" "$(as_client valid "$url")"
for c in expired:"certificate expired" unknown:"unknown ca" revoked:"certificate revoked" \
  none:"certificate required"; do
  report axum_mtls "${c%%:*}" "alert ${c#*:}" "$(as_client "${c%%:*}" "$url")"
done
# each refused handshake is on the server's standard error: its kind and the peer
for kind in expired unknown_issuer revoked no_certificate; do
  got="not logged"
  for ((i = 0; i < 40; i++)); do # written as the accept loop collects the handshake
    grep -q "tls handshake refused kind=$kind peer=127\.0\.0\.1:" "$logs/axum-mtls.log" &&
      got=logged && break
    sleep 0.05
  done
  report axum_mtls "log-$kind" logged "$got"
done

s_client() { # CASE: the response (or the alert) openssl s_client gets for GET /whoami
  printf 'GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$mtls_port" -servername localhost \
      -CAfile "$pki/root.pem" -cert "$pki/$1-chain.pem" -key "$pki/$1.key" 2>&1 || true
}
out=$(s_client valid)
got=$(grep -m 1 '^HTTP/' <<<"$out" | tr -d '\r') || got="no response: $(tail -n 1 <<<"$out")"
if [[ $got == "HTTP/1.1 200 OK" ]] && grep -q "\"x5t#S256\":\"$valid_x5t\"" <<<"$out"; then
  got="200 x5t=$valid_x5t"
fi
report axum_mtls s_client-valid "200 x5t=$valid_x5t" "$got"
out=$(s_client revoked)
got=$(grep -o 'alert [a-z ]*' <<<"$out" | head -n 1) || got="no alert: $(head -n 1 <<<"$out")"
report axum_mtls s_client-revoked "alert certificate revoked" "$got"

# ---------------------------------------------------------------------------------------
# 5. Reload without restart: the trust bundle replaced while clients run (axum_behind_proxy
# --watch); the new CA's client accepted and the removed CA's refused within the interval;
# a corrupt bundle leaves the server serving the last good one, /healthz says so, and
# /metrics counts the refused reload.
reload=$tmp/reload
mkdir -p "$reload"
cp "$pki/trust.pem" "$reload/trust.pem"
backend backend-reload "$examples/axum_behind_proxy" --trust "$reload/trust.pem" \
  --trusted-proxy 127.0.0.1/32 --header x-ssl-client-cert --format haproxy-der \
  --watch --watch-interval-ms 200 --metrics
reload_addr=$addr
unknown_b64=$(openssl x509 -in "$pki/unknown.pem" -outform DER | base64 -w0)
as_header() { outcome -H "x-ssl-client-cert: $1" "http://$reload_addr/whoami"; }
unknown_x5t=$(thumbprint "$pki/unknown.pem")
report reload before-valid "200 x5t=$valid_x5t source=header:x-ssl-client-cert" "$(as_header "$valid_b64")"
report reload before-unknown "401 unknown_issuer" "$(as_header "$unknown_b64")"
# clients keep asking throughout; every answer must be 200 or 401
(
  while [ ! -e "$reload/stop" ]; do
    for v in "$valid_b64" "$unknown_b64"; do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -H "x-ssl-client-cert: $v" \
        "http://$reload_addr/whoami" >>"$reload/statuses" || echo "curl-failed" >>"$reload/statuses"
    done
  done
) &
pids+=($!)
replace_bundle() { cp "$1" "$reload/next.pem" && mv "$reload/next.pem" "$reload/trust.pem"; }
replace_bundle "$pki/other-root.pem"
got=""
for ((i = 0; i < 50; i++)); do
  got=$(as_header "$unknown_b64")
  [ "$got" = "200 x5t=$unknown_x5t source=header:x-ssl-client-cert" ] && break
  sleep 0.1
done
report reload new-ca-accepted "200 x5t=$unknown_x5t source=header:x-ssl-client-cert" "$got"
report reload removed-ca-refused "401 unknown_issuer" "$(as_header "$valid_b64")"
printf 'not a certificate bundle\n' >"$reload/next.pem" && mv "$reload/next.pem" "$reload/trust.pem"
sleep 1 # five intervals
report reload corrupt-keeps-serving "200 x5t=$unknown_x5t source=header:x-ssl-client-cert" \
  "$(as_header "$unknown_b64")"
report reload healthz-unhealthy 503 \
  "$(curl -s -o "$tmp/health" -w '%{http_code}' "http://$reload_addr/healthz")"
# (to a file first: grep -q would close the pipe while curl still writes)
curl -s -o "$reload/metrics" "http://$reload_addr/metrics" || true
report reload metrics-counted yes "$(grep -Eq \
  '^certauth_reloads_total\{(what="trust_store",result="error"|result="error",what="trust_store")\} [1-9]' \
  "$reload/metrics" && echo yes || echo no)"
touch "$reload/stop"
sleep 0.5
others=$(sort -u "$reload/statuses" | grep -vx -e 200 -e 401 | tr '\n' ' ' || true)
report reload clients-during-swaps "200 and 401 only" "${others:-200 and 401 only}"
[ -s "$reload/statuses" ] || report reload clients-asked yes no

# ---------------------------------------------------------------------------------------
# 6. A CRL fetched over HTTP (python3 -m http.server) and refreshed by --watch
# (axum_behind_proxy, --crl URL): a client revoked mid-run is refused once the new CRL is
# published; the server keeps serving.
crlweb=$tmp/crlweb
mkdir -p "$crlweb"
cp "$pki/crl.pem" "$crlweb/crl.pem"
crl_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start crl-http python3 -m http.server --bind 127.0.0.1 --directory "$crlweb" "$crl_port"
wait_for_port crl-http "$crl_port"
backend backend-crl-url "$examples/axum_behind_proxy" --trust "$pki/trust.pem" \
  --crl "http://127.0.0.1:$crl_port/crl.pem" --trusted-proxy 127.0.0.1/32 \
  --header x-ssl-client-cert --format haproxy-der \
  --watch --watch-interval-ms 200 --crl-refresh-secs 1
crl_addr=$addr
as_crl_header() { outcome -H "x-ssl-client-cert: $1" "http://$crl_addr/whoami"; }
revoked_b64=$(openssl x509 -in "$pki/revoked.pem" -outform DER | base64 -w0)
report crl-url valid "200 x5t=$valid_x5t source=header:x-ssl-client-cert" \
  "$(as_crl_header "$valid_b64")"
report crl-url revoked "401 revoked" "$(as_crl_header "$revoked_b64")"
# revoke the valid client and publish the new CRL atomically (write beside, rename)
pki ca -batch -config "$pki/openssl.cnf" -revoke "$pki/valid.pem" -crl_reason keyCompromise
pki ca -batch -config "$pki/openssl.cnf" -gencrl -crlexts crl_ext -out "$crlweb/next.pem"
mv "$crlweb/next.pem" "$crlweb/crl.pem"
got=""
for ((i = 0; i < 100; i++)); do # the refresh is every second; allow ten
  got=$(as_crl_header "$valid_b64")
  [ "$got" = "401 revoked" ] && break
  sleep 0.1
done
report crl-url revoked-mid-run "401 revoked" "$got"
report crl-url still-serving "401 revoked" "$(as_crl_header "$revoked_b64")"

# ---------------------------------------------------------------------------------------
# 7. OCSP: OpenSSL's responder answers from the CA database (signed by the intermediate,
# the issuer); examples/axum_behind_proxy --ocsp asks the responder each client
# certificate names (authority information access), behind nginx, with curl clients.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ocsp_port=$(free_port)
cat >>"$pki/openssl.cnf" <<CNF
[ ocsp_client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$ocsp_port/
CNF
issue ocsp-good ocsp_client_ext
issue ocsp-revoked ocsp_client_ext
issue ocsp-late ocsp_client_ext
pki ca -batch -config "$pki/openssl.cnf" -revoke "$pki/ocsp-revoked.pem" -crl_reason keyCompromise
start ocsp-responder openssl ocsp -index "$pki/ca/index.txt" -port "$ocsp_port" \
  -CA "$pki/intermediate.pem" -rsigner "$pki/intermediate.pem" -rkey "$pki/intermediate.key" \
  -nmin 10 -ignore_err
ocsp_pid=${pids[-1]}
# Not wait_for_port: OpenSSL's responder serves one connection at a time and waits without
# end on a probe connection that sends nothing. Its log says when it listens.
for ((i = 0; i < 200; i++)); do
  grep -q 'waiting for OCSP client connections' "$logs/ocsp-responder.log" && break
  kill -0 "$ocsp_pid" 2>/dev/null || die_with_log "ocsp-responder exited" "$logs/ocsp-responder.log"
  sleep 0.05
done
grep -q 'waiting for OCSP client connections' "$logs/ocsp-responder.log" ||
  die_with_log "ocsp-responder did not start" "$logs/ocsp-responder.log"
behind_proxy backend-ocsp x-ssl-client-cert nginx-escaped --ocsp
ocsp_backend=$addr
nginx_ocsp_port=$(free_port)
mkdir -p "$tmp/nginx-ocsp"
cat >"$tmp/nginx-ocsp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx-ocsp/nginx.pid;
error_log $logs/nginx-ocsp.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx-ocsp/client_body;
    proxy_temp_path $tmp/nginx-ocsp/proxy;
    fastcgi_temp_path $tmp/nginx-ocsp/fastcgi;
    uwsgi_temp_path $tmp/nginx-ocsp/uwsgi;
    scgi_temp_path $tmp/nginx-ocsp/scgi;
    server {
        listen 127.0.0.1:$nginx_ocsp_port ssl;
        server_name localhost;
        ssl_certificate     $pki/server-chain.pem;
        ssl_certificate_key $pki/server.key;
        ssl_verify_client optional_no_ca;
        location / {
            proxy_pass http://$ocsp_backend;
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
        }
    }
}
CONF
start nginx-ocsp nginx -e "$logs/nginx-ocsp.log" -p "$tmp/nginx-ocsp" \
  -c "$tmp/nginx-ocsp/nginx.conf" -g 'daemon off;'
wait_for_port nginx-ocsp "$nginx_ocsp_port"
url=https://localhost:$nginx_ocsp_port/whoami
ocsp_good="200 x5t=$(thumbprint "$pki/ocsp-good.pem") source=header:x-ssl-client-cert"
report ocsp good "$ocsp_good" "$(as_client ocsp-good "$url")"
report ocsp revoked "401 revoked" "$(as_client ocsp-revoked "$url")"
# a certificate naming no responder: its status cannot be known, so it is refused
report ocsp no-responder "401 revocation_unknown" "$(as_client valid "$url")"
# responder down: the answer held serves until its nextUpdate; a certificate not yet asked
# about cannot be checked and is refused
kill "$ocsp_pid"
wait "$ocsp_pid" 2>/dev/null || true
report ocsp down-cached "$ocsp_good" "$(as_client ocsp-good "$url")"
report ocsp down-unknown "401 revocation_unknown" "$(as_client ocsp-late "$url")"
# /healthz reports the failing responder (reported, not judged)
curl -s -o "$tmp/ocsp-health" "http://$ocsp_backend/healthz" || true
report ocsp healthz-failing yes "$(grep -q '"ocsp":{[^}]*"failing":true' "$tmp/ocsp-health" && echo yes || echo no)"

# ---------------------------------------------------------------------------------------
# 8. CRLs from the certificate's own distribution point (axum_behind_proxy
# --crl-from-distribution-points), served by section 6's HTTP server.
cat >>"$pki/openssl.cnf" <<CNF
[ cdp_client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/crl.pem
CNF
issue cdp-good cdp_client_ext
issue cdp-revoked cdp_client_ext
pki ca -batch -config "$pki/openssl.cnf" -revoke "$pki/cdp-revoked.pem" -crl_reason keyCompromise
pki ca -batch -config "$pki/openssl.cnf" -gencrl -crlexts crl_ext -out "$crlweb/next.pem"
mv "$crlweb/next.pem" "$crlweb/crl.pem"
backend backend-cdp "$examples/axum_behind_proxy" --trust "$pki/trust.pem" \
  --trusted-proxy 127.0.0.1/32 --header x-ssl-client-cert --format haproxy-der \
  --crl-from-distribution-points
cdp_addr=$addr
as_cdp_header() { outcome -H "x-ssl-client-cert: $(openssl x509 -in "$pki/$1.pem" -outform DER | base64 -w0)" "http://$cdp_addr/whoami"; }
report crl-dp good "200 x5t=$(thumbprint "$pki/cdp-good.pem") source=header:x-ssl-client-cert" \
  "$(as_cdp_header cdp-good)"
report crl-dp revoked "401 revoked" "$(as_cdp_header cdp-revoked)"
# a certificate naming no distribution point: its status cannot be known
report crl-dp no-point "401 revocation_unknown" "$(as_cdp_header ocsp-good)"

echo "e2e: $((cases - failures))/$cases passed in $((SECONDS - started))s after the build" >&2
[ "$failures" = 0 ]
