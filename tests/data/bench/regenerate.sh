#!/usr/bin/env bash
# RSA-2048 private keys for the benchmarks' RSA chain (root, intermediate, leaf).
# rcgen with ring can sign with RSA keys but cannot generate them; the certificates
# themselves are made by the benchmark at start-up. Throwaway keys, test use only.
set -euo pipefail
cd "$(dirname "$0")"
for name in rsa-root rsa-intermediate rsa-leaf; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>/dev/null
done
