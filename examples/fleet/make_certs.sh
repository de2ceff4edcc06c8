#!/bin/sh
# Makes a private CA, a certificate for the broker and a client certificate for each device id
# or operator name given, with openssl:
#   ./make_certs.sh OUT_DIR BROKER_NAME [CLIENT...]
# BROKER_NAME is the host name (or IP address) clients connect to; it goes in the broker's
# certificate. Writes ca.crt, server.crt/.key and client-<name>.crt/.key. Keep ca.key offline
# once the certificates are made.
set -eu
out=$1
broker=$2
shift 2
mkdir -p "$out"
cd "$out"
case $broker in
*[!0-9.]*) san="DNS:$broker" ;;
*) san="IP:$broker" ;;
esac
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=micro-runtime fleet CA" -keyout ca.key -out ca.crt 2>/dev/null
sign() { # NAME SUBJECT EXTENSIONS
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm "$1.csr" "$1.ext"
}
sign server "/CN=$broker" "subjectAltName=$san
extendedKeyUsage=serverAuth"
for id in "$@"; do
  sign "client-$id" "/CN=$id" "extendedKeyUsage=clientAuth"
done
chmod 600 ./*.key
echo "Made ca.crt, server.crt/.key and $# client certificates in $out"
