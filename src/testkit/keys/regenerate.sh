#!/usr/bin/env bash
# Regenerates the public keys the test kit issues certificates for when the key type has
# no private key here (ring cannot generate RSA keys, and neither ring nor rcgen knows
# P-192). Only the SubjectPublicKeyInfo DER is kept; the private keys are thrown away, so
# these keys can never sign or complete a TLS handshake. Needs openssl 3.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for bits in 1024 2048 4096; do
  openssl genrsa -out "$tmp" "$bits" 2>/dev/null
  openssl rsa -in "$tmp" -pubout -outform DER -out "rsa$bits.der"
done
openssl ecparam -name prime192v1 -genkey -noout -out "$tmp"
openssl ec -in "$tmp" -pubout -outform DER -out p192.der
