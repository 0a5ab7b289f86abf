#!/bin/sh
# Makes the configuration directory of the compose profile `files` (and a starting point for
# any mounted /mosquitto/config): mosquitto.conf from conf/compose-tls-acl.conf, the demo
# users and ACL, and a throwaway CA and server certificate for TLS on 8883.
#
#   docker/init-files-config.sh [DIR] [HOSTNAME]    (defaults: docker/files-config localhost)
#
# An existing file is never overwritten, so rerunning it only fills in what is missing.
# Replace the certificates and users for anything but a test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/files-config}
host=${2:-localhost}
conf=$here/../conf

mkdir -p "$dir/certs"
copy() { [ -e "$dir/$2" ] || cp "$conf/$1" "$dir/$2"; }
copy compose-tls-acl.conf mosquitto.conf
copy demo.passwd passwd
copy demo.acl acl

if [ ! -e "$dir/certs/tls.crt" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=mosq-auth test CA" \
        -keyout "$tmp/ca.key" -out "$dir/certs/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" \
        -keyout "$dir/certs/tls.key" -out "$tmp/tls.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n' "$host" > "$tmp/ext"
    openssl x509 -req -in "$tmp/tls.csr" -CA "$dir/certs/ca.crt" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 825 -extfile "$tmp/ext" -out "$dir/certs/tls.crt" 2>/dev/null
fi

# The broker runs as UID 1883 (or any UID in group 0): it must read everything here.
chmod 0755 "$dir" "$dir/certs"
chmod 0644 "$dir"/mosquitto.conf "$dir"/passwd "$dir"/acl "$dir"/certs/*
echo "$dir is ready: mosquitto_pub -h $host -p 8883 --cafile $dir/certs/ca.crt -u demo -P demo-password -t demo/hello -m hi"
