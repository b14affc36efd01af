#!/usr/bin/env bash
# Seed CRLs for the crl_load fuzz target, issued by the test PKI's intermediate
# (tests/data/pki). The registry seed is hand-written JSON.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
touch "$work/index.txt"; echo 1000 > "$work/crlnumber"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $work/index.txt
crlnumber = $work/crlnumber
default_md = sha256
default_crl_days = 30
CNF
openssl ca -config "$work/ca.cnf" -gencrl -keyfile ../pki/intermediate.key -cert ../pki/intermediate.pem -out crl/empty.pem 2>/dev/null
openssl crl -in crl/empty.pem -outform DER -out crl/empty.der
