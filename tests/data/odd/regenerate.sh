#!/usr/bin/env bash
# Odd certificates for the certificate-model tests: an RSA-4096 self-signed certificate
# with a multi-valued RDN (CN + UID in one RDN) and a UTF-8 organisation.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:4096 -nodes -keyout /dev/null -days 3650 -sha256 -utf8 \
  -multivalue-rdn -subj '/C=DE/O=Zoë Ünïcödé 日本/CN=multi+UID=u123' -set_serial 0x00ff \
  -outform DER -out rsa4096-multivalue.der 2>/dev/null

# unknown-key-alg.der is not generated: it is a fuzzer-found input (see the test in src/cert.rs).
