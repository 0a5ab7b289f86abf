#!/usr/bin/env bash
# Builds the plugin (--release) and runs the load harness against Debian's mosquitto on
# 127.0.0.1: every setup (no auth, built-in files, mosq-auth files, HTTP with and without cache,
# 10,000 users) and the memory test. Prints the markdown report and writes it to
# target/load-report.md (or $LOAD_OUT). Bounded: each phase stops after 120 s at the latest; the
# whole run takes a few minutes. Knobs (LOAD_ROUNDS, LOAD_MESSAGES, LOAD_SETUPS, ...): see
# benches/load/main.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v "${MOSQUITTO_BIN:-/usr/sbin/mosquitto}" >/dev/null; then
    echo "mosquitto is missing: apt-get install -y mosquitto mosquitto-clients (or set MOSQUITTO_BIN)" >&2
    exit 1
fi
cargo build --release --locked --lib
exec timeout 900 cargo bench --locked --bench load "$@"
