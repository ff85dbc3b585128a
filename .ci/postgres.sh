#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the history tests and prints the
# URL to give them in PALISADE_TEST_POSTGRES. Installs Debian's postgresql when absent.
# Usage: URL=$(bash .ci/postgres.sh DIR)
set -euo pipefail
dir=${1:?usage: postgres.sh DIR}
# A free port, so a server already running here (or another CI run) is left alone.
port=${PALISADE_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

find_bin() {
    command -v "$1" 2>/dev/null && return
    ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1
}
if [ -z "$(find_bin initdb)" ]; then
    echo "installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) >&2
fi
initdb=$(find_bin initdb)
pg_ctl=$(find_bin pg_ctl)

# The server refuses to run as root: run it as the postgres user when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_owner "$initdb" -D "$dir/data" -U palisade --auth=trust >/dev/null
# TLS too: a CA of the test's own ($dir/ca.pem) signs the server's certificate for
# localhost and 127.0.0.1, so clients can check both chain and name.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=palisade test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/data/server.key" -out "$dir/server.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/san.ext" -out "$dir/data/server.crt" >/dev/null 2>&1
chmod 600 "$dir/data/server.key"
[ "$(id -u)" = 0 ] && chown postgres "$dir/data/server.key" "$dir/data/server.crt"
as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-h 127.0.0.1 -p $port -k $dir -c ssl=on" start >/dev/null
printf '#!/bin/sh\n%s\n' "$( [ "$(id -u)" = 0 ] && echo "runuser -u postgres -- ")$pg_ctl -D $dir/data -m fast stop" >"$dir/stop.sh"
echo "postgres://palisade@127.0.0.1:$port/postgres"
