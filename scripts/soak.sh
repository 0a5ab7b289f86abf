#!/usr/bin/env bash
# The soak: builds the release plugin and runs benches/soak (cargo bench --bench soak) against a
# real broker for SOAK_SECONDS (default 600; CI uses a short run, e.g. SOAK_SECONDS=60), with
# the files, JWT and HTTP backends chained, a steady load of clients and a schedule of faults
# (HTTP service killed, slowed past the deadline, answering garbage or 500; password and ACL
# files renamed, written line by line, truncated, made unreadable or unparsable; SIGHUP storms;
# connect floods). An oracle judges every answer; the last line is the summary and the exit
# status is non-zero on any wrong answer, crash, missing fault log line or resource growth.
#
#   scripts/soak.sh                    Debian's mosquitto (or MOSQUITTO_BIN)
#   SOAK_BROKER=2.1 scripts/soak.sh    Mosquitto 2.1.2 from target/mosquitto-2.1.2 (scripts/broker-2.1.sh)
#   SOAK_SELFTEST=1 scripts/soak.sh    one expectation of the oracle turned upside down: must FAIL
#
# Other knobs: SOAK_WORKERS (4), SOAK_KEEP (directory for the broker log and config),
# MOSQ_AUTH_PLUGIN (another .so). A hard timeout of SOAK_SECONDS + 300 s stops a hung run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SOAK_BROKER:-}" = "2.1" ]; then
    m="$PWD/target/mosquitto-2.1.2"
    if [ ! -x "$m/mosquitto" ]; then
        echo "SOAK_BROKER=2.1: $m/mosquitto is missing (run scripts/broker-2.1.sh)" >&2
        exit 2
    fi
    # The wrapper execs the broker with its own LD_LIBRARY_PATH: the pid stays the broker's.
    export MOSQUITTO_BIN="$m/mosquitto"
elif [ -n "${SOAK_BROKER:-}" ]; then
    echo "SOAK_BROKER: only 2.1 is known (unset: Debian's mosquitto or MOSQUITTO_BIN)" >&2
    exit 2
fi
if ! command -v "${MOSQUITTO_BIN:-/usr/sbin/mosquitto}" >/dev/null; then
    echo "mosquitto is missing: apt-get install -y mosquitto mosquitto-clients (or set MOSQUITTO_BIN)" >&2
    exit 2
fi
secs=${SOAK_SECONDS:-600}
case "$secs" in
    ''|*[!0-9]*) echo "SOAK_SECONDS must be a number of seconds, not '$secs'" >&2; exit 2 ;;
esac
cargo build --release --locked --lib
export SOAK_SECONDS=$secs
exec timeout --kill-after=30 $((secs + 300)) cargo bench --locked --bench soak "$@"
