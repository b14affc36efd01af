#!/usr/bin/env bash
# Regenerates the checked-in test PKI (a copy of the project's shared test vectors):
# ECDSA P-256 root -> intermediate -> client leaf (EC) and an RSA-2048 client leaf whose
# subject contains ',' and '"', a server certificate, and a self-signed client.
# Extensions are in ext.cnf. Needs openssl 3. New keys and dates change the bytes: after
# running it, update the literal expectations in tests/it/cli.rs (dates) and re-run tests/run.
set -euo pipefail
cd "$(dirname "$0")"
days() { echo $(( $1 * 365 )); }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }

ec root
openssl req -new -x509 -key root.key -subj "/C=US/O=Example Test PKI/CN=Example Test Root CA" \
  -set_serial 0x1001 -days "$(days 20)" -extensions root_ext -config <(cat /etc/ssl/openssl.cnf ext.cnf) \
  -sha256 -out root.pem

issue() { # name subject serial years extsection issuer
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$6.pem" -CAkey "$6.key" -set_serial "$3" -days "$(days "$4")" \
    -extfile ext.cnf -extensions "$5" -sha256 -out "$1.pem"
  rm "$1.csr"
}
ec intermediate
issue intermediate "/C=US/O=Example Test PKI/CN=Example Test Intermediate CA" 0x2002 15 int_ext root
ec leaf-ec
issue leaf-ec "/C=US/O=Example Corp/OU=Engineering/CN=client.example.test" 0x3A5F01 10 leaf_ec_ext intermediate
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf-rsa.key
issue leaf-rsa '/C=US/O=Example, Inc./OU=R&D "Lab"/CN=rsa-client.example.test' 0x3A5F02 10 leaf_rsa_ext intermediate
ec server
issue server "/CN=localhost" 0x5005 10 server_ext intermediate
ec selfsigned
openssl req -new -x509 -key selfsigned.key -subj "/CN=self-signed.example.test" -days "$(days 10)" -sha256 -out selfsigned.pem

for n in root intermediate leaf-ec leaf-rsa; do openssl x509 -in "$n.pem" -outform DER -out "$n.der"; done
cat leaf-ec.pem intermediate.pem > leaf-ec-chain.pem
cat leaf-rsa.pem intermediate.pem > leaf-rsa-chain.pem
cat server.pem intermediate.pem > server-chain.pem
cat intermediate.pem root.pem > ca-bundle.pem
