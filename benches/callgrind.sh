#!/usr/bin/env bash
# Instructions per ACL check and per CONNECT, from the broker run under callgrind by the load
# harness (benches/run-load.sh with LOAD_BROKER_WRAPPER), one broker per setup with small
# counts, then a markdown table from the callgrind files (benches/callgrind_table.py parses
# the callgrind format itself). The harness's own report (CPU figures meaningless under
# valgrind) and stderr are kept next to the profiles.
#
# Knobs: CG_SETUPS (none,builtin,files,files-10k,http,http-rules,jwt-hs256), CG_CONNECTS (100),
# CG_MESSAGES (4000 per QoS level for the 4 x 4 pairs; the fan-out gets as many deliveries),
# CG_OUT (target/callgrind, or target/callgrind-2.1 with LOAD_BROKER=2.1), LOAD_BROKER=2.1 for
# Mosquitto 2.1.2 in target/mosquitto-2.1.2 (see run-load.sh), CG_TIMEOUT (3600 s for the run).
# The plugin is built first and a copy used (MOSQ_AUTH_PLUGIN), so a rebuild by someone else
# during the run changes nothing. The broker runs with `user root` so it can write the profile
# into CG_OUT, and gets SIGTERM and time to write it at the end of each setup. Takes about 5
# minutes for the default setups on 2 busy cores.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 1; }
setups="${CG_SETUPS:-none,builtin,files,files-10k,http,http-rules,jwt-hs256}"
out="${CG_OUT:-$PWD/target/callgrind${LOAD_BROKER:+-$LOAD_BROKER}}"
rm -rf "$out"
mkdir -p "$out"
chmod 0777 "$out"
cargo build --release --locked --lib >&2
cp target/release/libmosq_auth.so "$out/libmosq_auth.so"
wrapper="valgrind --tool=callgrind --callgrind-out-file=$out/{setup}.%p"
run=(env
    LOAD_BROKER_WRAPPER="$wrapper"
    LOAD_BROKER_CONF='user root\n'
    LOAD_ROUNDS=1
    LOAD_CONNECTS="${CG_CONNECTS:-100}"
    LOAD_MESSAGES="${CG_MESSAGES:-4000}"
    LOAD_SETUPS="$setups"
    LOAD_OUT="$out/load-report.md"
    LOAD_TIMEOUT="${CG_TIMEOUT:-3600}"
    MOSQ_AUTH_PLUGIN="$out/libmosq_auth.so"
    ${LOAD_BROKER:+LOAD_BROKER=$LOAD_BROKER}
    benches/run-load.sh)
parse=(python3 benches/callgrind_table.py "$out" "$setups")
echo "# callgrind: instructions per ACL check and per CONNECT"
echo
echo "Commands (from $PWD):"
echo
echo '```'
printf '%q ' "${run[@]}"; echo "> $out/harness.out 2> $out/harness.err"
printf '%q ' "${parse[@]}"; echo
echo '```'
echo
"${run[@]}" >"$out/harness.out" 2>"$out/harness.err" || {
    echo "the harness failed (status $?): see $out/harness.err" >&2
    tail -20 "$out/harness.err" >&2
    exit 1
}
echo "- broker: $(grep -m1 -o 'broker: .*' "$out/load-report.md" | sed 's/^broker: //')"
echo "- plugin: $out/libmosq_auth.so (sha256 $(sha256sum "$out/libmosq_auth.so" | cut -c1-12)), built from commit $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ' + uncommitted src changes')"
echo "- load per setup: $(grep -m1 -o 'load: .*' "$out/load-report.md" | sed 's/; whole run.*//; s/^load: //')"
echo
"${parse[@]}"
