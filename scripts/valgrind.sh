#!/usr/bin/env bash
# `make valgrind`: a representative subset of the broker integration tests (tests/it) with every
# broker running under valgrind's memcheck, on Debian's mosquitto 2.0 and on Mosquitto 2.1.2
# (built by scripts/broker-2.1.sh), then a summary per broker version:
#
#   logs read, errors total, errors in our frames, definite leaks from our frames, and what
#   remains that belongs to the broker (or its libraries) itself.
#
# It fails when a test fails, when a broker log has no final ERROR SUMMARY (a broker that was
# killed before valgrind could write its leak report), or when any error record or definite leak
# record has a frame of ours in its stack. "Ours" is a stack line naming `mosq_auth` (a Rust
# frame `mosq_auth::...` or an unsymbolised `(in .../libmosq_auth.so)`); a record without one
# belongs to the broker or its libraries and is listed, not counted against us.
#
# Each broker runs as
#   valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
#            --error-exitcode=99 --suppressions=tests/valgrind.supp --log-file=DIR/vg.%p.log
# through MOSQ_AUTH_TEST_BROKER_WRAPPER (tests/it/support/broker.rs), one log per broker pid, in
# target/valgrind/<version>/. (The broker's exit status is not seen by the tests, which stop it
# with SIGTERM, so the logs are the evidence, --error-exitcode only a second signal.)
#
# Environment:
#   MOSQ_AUTH_VALGRIND_21=0       skip the 2.1.2 pass
#   MOSQ_AUTH_VALGRIND_TESTS="a b" test filters instead of the default subset (exact names)
#   MOSQ_AUTH_VALGRIND_THREADS=N  test threads (default 1: two brokers under memcheck at once on
#                                 two cores make first logins miss the MQTT client's 5 s connect
#                                 timeout)
#   MOSQUITTO_BIN                 the 2.0 broker (default /usr/sbin/mosquitto)
#
# `scripts/valgrind.sh --summarize DIR` prints the summary of the logs in DIR (no tests run).
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD

say() { printf '==> %s\n' "$*"; }
die() { printf 'valgrind.sh: %s\n' "$*" >&2; exit 1; }

# The subset, chosen to cover each plugin path once under both APIs where it matters: connect
# (v5 and v4 API), publish/subscribe ACL checks, hostile usernames and client ids, the files and
# HTTP backends, reload by SIGHUP (also with a broken file), revocation on reload, rules from the
# login answer with hostile names, parked logins (2.1) with a reload and shutdown in flight.
# Every test ends with a SIGTERM shutdown, where valgrind writes the leak report. About 7 s
# per test under memcheck, one at a time (--fair-sched=yes: the plugin's worker threads and the
# broker's thread take turns under valgrind's single lock instead of starving each other).
DEFAULT_TESTS=(
    files_broker::connect_v5_api
    files_broker::connect_v4_api
    files_broker::acl_v5_api
    files_broker::special_characters_in_username_never_match_patterns
    http_broker::auth_plug_seed_config
    http_broker::go_auth_seed_config
    reload_broker::sighup_reloads_users_and_acls
    reload_broker::broken_file_keeps_the_last_good_one
    revocation::sighup_disconnects_a_removed_user
    login_rules::hostile_names_never_widen_a_rule
    delayed_connect::parked_connects_get_the_exact_connack
    delayed_connect::reload_and_shutdown_with_logins_in_flight
)
if [ -n "${MOSQ_AUTH_VALGRIND_TESTS:-}" ]; then
    read -r -a TESTS <<<"$MOSQ_AUTH_VALGRIND_TESTS"
else
    TESTS=("${DEFAULT_TESTS[@]}")
fi
THREADS=${MOSQ_AUTH_VALGRIND_THREADS:-1}
SUPP=$top/tests/valgrind.supp

deps() {
    if ! command -v valgrind >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing valgrind: apt-get install -y valgrind"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends valgrind >/dev/null
        else
            die "valgrind is missing; run: sudo apt-get install -y valgrind"
        fi
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 is missing; run: sudo apt-get install -y python3"
    # The rest (mosquitto, clients, headers, Rust) as for `make test`.
    scripts/dev.sh deps
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    return 0
}

# summarize DIR LABEL: reads DIR/vg.*.log and prints the figures; exit 1 when ours are not clean.
summarize() {
    python3 - "$1" "$2" <<'PY'
import glob, os, re, sys

logdir, label = sys.argv[1], sys.argv[2]
OURS = re.compile(r"mosq_auth")
FRAME = re.compile(r"^\s+(at|by) 0x[0-9A-Fa-f]+: ")
LEAK = re.compile(r"are (definitely|indirectly|possibly) lost in loss record")
SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors from (\d+) contexts \(suppressed: (\d+) from (\d+)\)")
SUPPRESSED_LEAK = re.compile(r"^\s*suppressed: ([\d,]+) bytes in ([\d,]+) blocks")

logs = sorted(glob.glob(os.path.join(logdir, "vg.*.log")))
stats = dict(logs=0, incomplete=[], errors=0, ours=0, leaks_ours=0, broker=[], possible=0,
             summary_errors=0, suppressed=0, not_broker=0, supp_bytes=0, supp_blocks=0)
ours_records = []
for path in logs:
    with open(path, errors="replace") as f:
        lines = [re.sub(r"^==\d+== ?", "", l.rstrip("\n")) for l in f]
    if not any(l.startswith("Command: ") and "mosquitto" in l for l in lines):
        stats["not_broker"] += 1  # e.g. the 2.1 launcher shell before its exec
        continue
    stats["logs"] += 1
    m = None
    for l in lines:
        m = SUMMARY.search(l) or m
        s = SUPPRESSED_LEAK.match(l)
        if s:
            stats["supp_bytes"] += int(s.group(1).replace(",", ""))
            stats["supp_blocks"] += int(s.group(2).replace(",", ""))
    if m is None:
        stats["incomplete"].append(path)
    else:
        stats["summary_errors"] += int(m.group(1))
        stats["suppressed"] += int(m.group(3))
    # Records are separated by blank lines; an error record has a headline and stack frames.
    block = []
    for l in lines + [""]:
        if l.strip():
            block.append(l)
            continue
        if len(block) >= 2 and any(FRAME.match(b) for b in block[1:]):
            head = block[0]
            ours = any(OURS.search(b) for b in block[1:] if FRAME.match(b))
            leak = LEAK.search(head)
            if leak and leak.group(1) != "definitely":
                if leak.group(1) == "possibly":
                    stats["possible"] += 1
            elif leak:
                if ours:
                    stats["leaks_ours"] += 1
                    ours_records.append((path, block))
                else:
                    stats["broker"].append((path, head))
            else:
                stats["errors"] += 1
                if ours:
                    stats["ours"] += 1
                    ours_records.append((path, block))
                else:
                    stats["broker"].append((path, head))
        block = []

print(f"--- valgrind memcheck, {label}")
print(f"  broker logs read:                     {stats['logs']}")
print(f"  logs without a final summary:         {len(stats['incomplete'])}")
print(f"  errors total (not leaks):             {stats['errors']}  (valgrind's ERROR SUMMARY sum: {stats['summary_errors']}, suppressed: {stats['suppressed']})")
print(f"  errors in our frames:                 {stats['ours']}")
print(f"  definite leaks from our frames:       {stats['leaks_ours']}")
print(f"  possibly-lost records (not counted):  {stats['possible']}")
print(f"  suppressed leaks (tests/valgrind.supp): {stats['supp_blocks']} blocks, {stats['supp_bytes']} bytes")
print(f"  broker's own (no frame of ours):      {len(stats['broker'])}")
seen = {}
for path, head in stats["broker"]:
    seen.setdefault(head, []).append(os.path.basename(path))
for head, where in sorted(seen.items()):
    print(f"    {len(where)}x {head}  (e.g. {where[0]})")
for path in stats["incomplete"]:
    print(f"  NO SUMMARY (broker killed before valgrind finished?): {path}")
for path, block in ours_records[:5]:
    print(f"  OURS in {path}:")
    for b in block[:25]:
        print(f"    {b}")
bad = stats["logs"] == 0 or stats["incomplete"] or stats["ours"] or stats["leaks_ours"]
sys.exit(1 if bad else 0)
PY
}

# pass LABEL DIR [ENV...]: runs the subset with the given environment, then summarises DIR.
pass() {
    local label=$1 dir=$2 rc=0 extra=()
    shift 2
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 777 "$dir"   # the broker may drop to the mosquitto user before valgrind writes
    [ "${VG_TRACE_CHILDREN:-0}" = 1 ] && extra+=(--trace-children=yes)
    local wrapper="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
--error-exitcode=99 --vgdb=no --fair-sched=yes --num-callers=40 --suppressions=$SUPP ${extra[*]:-} \
--log-file=$dir/vg.%p.log"
    say "$label: ${#TESTS[@]} tests under memcheck (logs: $dir)"
    local t0
    t0=$(date +%s)
    env "$@" MOSQ_AUTH_TEST_BROKER_WRAPPER="$wrapper" \
        timeout --kill-after=30 600 \
        cargo test --locked -q --test it -- --exact --test-threads="$THREADS" "${TESTS[@]}" || rc=$?
    say "$label: tests finished in $(($(date +%s) - t0)) s (exit $rc)"
    local src=0
    summarize "$dir" "$label" || src=$?
    [ $rc -eq 0 ] || { echo "  TESTS FAILED under valgrind ($label): exit $rc"; return 1; }
    return $src
}

# `scripts/valgrind.sh --summarize DIR`: the summary of existing logs only (no tests run).
if [ "${1:-}" = --summarize ]; then
    [ -d "${2:-}" ] || die "usage: $0 --summarize DIR"
    summarize "$2" "${3:-$2}"
    exit
fi

deps
say "building the test binary"
cargo test --locked --test it --no-run -q 2>&1 | grep -v '^ *Executable' || true

status=0
bin20=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
[ -x "$bin20" ] || die "$bin20 is missing; run: sudo apt-get install -y mosquitto mosquitto-clients"
v20=$({ "$bin20" -h 2>&1 || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -n1)
[ -n "$v20" ] || die "$bin20 -h printed no version line"
pass "mosquitto $v20 ($bin20)" "$top/target/valgrind/$v20" MOSQUITTO_BIN="$bin20" || status=1

if [ "${MOSQ_AUTH_VALGRIND_21:-1}" = 1 ]; then
    rc=0
    prefix=$(scripts/broker-2.1.sh) || rc=$?
    if [ $rc -eq 3 ]; then
        say "mosquitto 2.1.2: no source tarball, pass skipped"
    elif [ $rc -ne 0 ]; then
        die "building mosquitto 2.1.2 failed (scripts/broker-2.1.sh)"
    else
        # $prefix/mosquitto is a shell launcher that execs the broker with its LD_LIBRARY_PATH
        # (same pid); --trace-children=yes follows that exec, and the pid's log then holds the
        # broker's run (the launcher's own part is overwritten or skipped by the summary).
        VG_TRACE_CHILDREN=1 pass "mosquitto 2.1.2 ($prefix/sbin/mosquitto)" \
            "$top/target/valgrind/2.1.2" MOSQUITTO_BIN="$prefix/mosquitto" || status=1
    fi
fi

if [ $status -eq 0 ]; then
    say "valgrind: clean (no error and no definite leak in frames of libmosq_auth.so)"
else
    say "valgrind: FAILED (see above)"
fi
exit $status
