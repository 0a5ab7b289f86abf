#!/usr/bin/env bash
# Runs the cargo-fuzz (libFuzzer) targets of fuzz/ one after the other: `make fuzz`.
#
#   FUZZ_SECONDS=120       seconds per target (default 120)
#   FUZZ_TARGETS=a,b       only these targets (default: all, see ALL below)
#   FUZZ_WORK=dir          working corpus, artifacts and logs (default fuzz/target/fuzz-work)
#   FUZZ_SANITIZER=address cargo fuzz --sanitizer (address, none, ...; default address)
#   FUZZ_TIMEOUT=10        seconds one input may take before it counts as a hang (a finding)
#   FUZZ_SEED=n            libFuzzer's -seed (CI sets one, so that a red run can be replayed)
#
# Each target starts from its committed seeds in fuzz/corpus/<target>/ (read only) and writes
# what it finds to $FUZZ_WORK/corpus/<target>/, so the committed corpus stays small. One summary
# line per target (executions, libFuzzer's final cov: and ft:, new corpus entries, seconds),
# then a final line. Exits non-zero when a target crashed, with the crash file and the panic.
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz, which is
# installed when missing: cargo +nightly install cargo-fuzz --locked
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

ALL=(topic acl_file password_file hash_parse hash_roundtrip config http_response session jwt broker_conf)
declare -A MAX_LEN=(
  [topic]=64 [acl_file]=4096 [password_file]=4096 [hash_parse]=512 [hash_roundtrip]=256
  [config]=2048 [http_response]=1024 [session]=4096 [jwt]=2048 [broker_conf]=4096
)

SECONDS_EACH=${FUZZ_SECONDS:-120}
WORK=${FUZZ_WORK:-$ROOT/fuzz/target/fuzz-work}
SANITIZER=${FUZZ_SANITIZER:-address}
TIMEOUT=${FUZZ_TIMEOUT:-10}

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

case "$SECONDS_EACH" in '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number, not '$SECONDS_EACH'" ;; esac

if [ -n "${FUZZ_TARGETS:-}" ]; then
  IFS=', ' read -r -a TARGETS <<<"$FUZZ_TARGETS"
  for t in "${TARGETS[@]}"; do
    [ -n "${MAX_LEN[$t]:-}" ] || die "unknown fuzz target '$t' (targets: ${ALL[*]})"
  done
else
  TARGETS=("${ALL[@]}")
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
cargo +nightly --version >/dev/null 2>&1 ||
  die "the nightly toolchain is missing: rustup toolchain install nightly"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  say "cargo-fuzz is missing; installing it: cargo +nightly install cargo-fuzz --locked"
  cargo +nightly install cargo-fuzz --locked ||
    die "could not install cargo-fuzz; run: cargo +nightly install cargo-fuzz --locked"
fi

mkdir -p "$WORK/logs"
# Files a target writes while it runs (broker_conf's mosquitto.conf trees), removed after each.
export MOSQ_AUTH_FUZZ_SCRATCH="$WORK/scratch"
for t in "${TARGETS[@]}"; do
  say "building $t"
  if ! cargo +nightly fuzz build --sanitizer "$SANITIZER" "$t" >"$WORK/logs/build.log" 2>&1; then
    tail -n 30 "$WORK/logs/build.log" >&2
    die "cargo +nightly fuzz build $t failed (log: $WORK/logs/build.log)"
  fi
done

failed=()
total_execs=0
for t in "${TARGETS[@]}"; do
  corpus="$WORK/corpus/$t"
  artifacts="$WORK/artifacts/$t"
  log="$WORK/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$ROOT/fuzz/corpus/$t"
  before=$(find "$corpus" -type f | wc -l)
  start=$(date +%s)
  cargo +nightly fuzz run --sanitizer "$SANITIZER" "$t" "$corpus" "$ROOT/fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$t]}" -timeout="$TIMEOUT" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} >"$log" 2>&1
  rc=$?
  rm -rf "$MOSQ_AUTH_FUZZ_SCRATCH"
  secs=$(($(date +%s) - start))
  after=$(find "$corpus" -type f | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  last=$(grep ' cov: ' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  total_execs=$((total_execs + ${execs:-0}))
  status=ok
  if [ "$rc" -ne 0 ]; then
    status=CRASH
    failed+=("$t")
  fi
  printf 'fuzz %-15s %-5s execs=%s cov=%s ft=%s new=%s secs=%s\n' \
    "$t" "$status" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$((after - before))" "$secs"
  if [ "$rc" -ne 0 ]; then
    crash=$(grep -o 'Test unit written to .*' "$log" | tail -n 1 | sed 's/^Test unit written to //')
    printf '     crash file: %s\n' "${crash:-none written (see $log)}"
    grep -m 1 -A 2 "panicked at" "$log" | sed 's/^/     /'
    grep -m 1 -E 'ERROR: (AddressSanitizer|libFuzzer)' "$log" | sed 's/^/     /'
    printf '     log: %s\n' "$log"
    printf '     reproduce: cargo +nightly fuzz run %s %s\n' "$t" "${crash:-<crash file>}"
  fi
done

if [ "${#failed[@]}" -eq 0 ]; then
  printf 'fuzz: %d target(s), %d executions, %ss each, no crash\n' \
    "${#TARGETS[@]}" "$total_execs" "$SECONDS_EACH"
else
  printf 'fuzz: %d target(s), %d crashed: %s\n' "${#TARGETS[@]}" "${#failed[@]}" "${failed[*]}"
  exit 1
fi
