#!/usr/bin/env bash
# Builds the plugin (--release) and runs the load harness against Debian's mosquitto on
# 127.0.0.1: every setup (no auth, built-in files, mosq-auth files, HTTP with and without cache,
# 10,000 users), the memory test and the connect storm against a slow auth service. Prints the
# markdown report and writes it to target/load-report.md (or $LOAD_OUT). Bounded: each phase
# stops after 120 s at the latest; the whole run takes a few minutes. Knobs (LOAD_ROUNDS,
# LOAD_MESSAGES, LOAD_SETUPS, LOAD_STORM_*, ...): see benches/load/main.rs.
#
# LOAD_BROKER=2.1 runs Mosquitto 2.1.2 built into target/mosquitto-2.1.2 instead (report in
# target/load-report-2.1.md unless LOAD_OUT is set); MOSQUITTO_BIN picks any other broker.
# LOAD_TIMEOUT (900 s) bounds the whole run (benches/callgrind.sh gives it more).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOAD_BROKER:-}" = "2.1" ]; then
    m="$PWD/target/mosquitto-2.1.2"
    if [ ! -x "$m/sbin/mosquitto" ]; then
        echo "LOAD_BROKER=2.1: $m/sbin/mosquitto is missing (build Mosquitto 2.1.2 there)" >&2
        exit 1
    fi
    export MOSQUITTO_BIN="$m/sbin/mosquitto"
    export LD_LIBRARY_PATH="$m/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LOAD_OUT="${LOAD_OUT:-$PWD/target/load-report-2.1.md}"
elif [ -n "${LOAD_BROKER:-}" ]; then
    echo "LOAD_BROKER: only 2.1 is known (unset: Debian's mosquitto or MOSQUITTO_BIN)" >&2
    exit 1
fi
if ! command -v "${MOSQUITTO_BIN:-/usr/sbin/mosquitto}" >/dev/null; then
    echo "mosquitto is missing: apt-get install -y mosquitto mosquitto-clients (or set MOSQUITTO_BIN)" >&2
    exit 1
fi
cargo build --release --locked --lib
exec timeout "${LOAD_TIMEOUT:-900}" cargo bench --locked --bench load "$@"
