#!/usr/bin/env bash
# Public keys (SubjectPublicKeyInfo, DER) for tests that need an RSA leaf: rcgen with ring
# cannot generate RSA keys, and a leaf never signs during verification, so only the public
# half is kept. The private keys are thrown away.
set -euo pipefail
cd "$(dirname "$0")"
for bits in 1024 2048; do
  openssl genrsa -out /tmp/certauth-rsa$bits.key $bits 2>/dev/null
  openssl rsa -in /tmp/certauth-rsa$bits.key -pubout -outform DER -out rsa$bits.spki.der 2>/dev/null
  rm -f /tmp/certauth-rsa$bits.key
done
