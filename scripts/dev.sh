#!/usr/bin/env bash
# mosq-auth developer entry point: `make demo` and `make test` call this.
#
#   scripts/dev.sh deps   install what is missing (as root), or print exactly what to install
#   scripts/dev.sh demo   build the plugin and run a broker on 127.0.0.1:1883 with conf/demo.*
#   scripts/dev.sh test   build and run the whole test suite (unit, broker, HTTP, deployment)
#   scripts/dev.sh lint   cargo fmt --check, clippy -D warnings and cargo doc -D warnings
#   scripts/dev.sh deb    build the Debian package target/debian/mosq-auth_<version>_amd64.deb
#
# `test` runs the whole cargo test suite against Debian's mosquitto 2.0, then the integration
# tests again against Mosquitto 2.1.2 built from ../shared/vendor/ by scripts/broker-2.1.sh
# (MOSQ_AUTH_TEST_21=0 turns that second pass off; without the tarball it says so and goes on),
# then the deployment checks (.ci/deploy-check).
set -euo pipefail

cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev libclang-dev clang
              pkg-config python3 make ca-certificates openssl)
MIN_RUST="1.80"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

missing_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

deps() {
  if command -v dpkg-query >/dev/null 2>&1; then
    local missing
    missing=$(missing_apt)
    if [ -n "$missing" ]; then
      if [ "$(id -u)" = 0 ]; then
        say "installing: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
      else
        die "missing packages; run: sudo apt-get install -y $missing"
      fi
    fi
  else
    for tool in mosquitto mosquitto_passwd clang; do
      command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
        die "$tool is missing: install mosquitto, mosquitto-clients, mosquitto-dev and libclang (Alpine: apk add mosquitto mosquitto-clients mosquitto-dev clang-dev)"
    done
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 ||
    die "Rust is missing: install Rust $MIN_RUST or newer with rustup (https://rustup.rs), then re-run"
  local v
  v=$(rustc --version | awk '{print $2}')
  if [ "$(printf '%s\n%s\n' "$MIN_RUST" "$v" | sort -V | head -n1)" != "$MIN_RUST" ]; then
    die "Rust $v is too old: mosq-auth needs $MIN_RUST or newer (rustup update)"
  fi
}

mosquitto_bin() {
  if [ -n "${MOSQUITTO_BIN:-}" ]; then echo "$MOSQUITTO_BIN"; return; fi
  command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto
}

demo() {
  deps
  say "building the plugin (release)"
  cargo build --release --locked --lib
  local dir=/tmp/mosq-auth-demo port=${DEMO_PORT:-1883}
  rm -rf "$dir"; mkdir -p "$dir"; chmod 755 "$dir"
  cp conf/demo.passwd conf/demo.acl "$dir/"
  sed -e "s#/mosquitto/config/#$dir/#g" \
      -e "s#/usr/lib/mosquitto-auth/libmosq_auth.so#$PWD/target/release/libmosq_auth.so#g" \
      -e "s#^listener 1883.*#listener $port 127.0.0.1#" \
      conf/demo.conf > "$dir/mosquitto.conf"
  chmod 644 "$dir"/*
  cat <<MSG

mosq-auth demo broker on 127.0.0.1:$port (config: $dir/mosquitto.conf). In another terminal:

  mosquitto_sub -h 127.0.0.1 -p $port -u demo -P demo-password -t 'demo/#' -v &
  mosquitto_pub -h 127.0.0.1 -p $port -u demo -P demo-password -t demo/hello -m 'hello'

A wrong password is refused:
  mosquitto_pub -h 127.0.0.1 -p $port -u demo -P wrong -t demo/hello -m x

Press Ctrl-C to stop.
MSG
  exec "$(mosquitto_bin)" -c "$dir/mosquitto.conf"
}

lint() {
  deps
  cargo fmt --all -- --check
  cargo clippy --locked --all-targets -- -D warnings
  # The doc comments are documentation too: no broken or private intra-doc links.
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --lib
}

# The test targets of the second broker pass: the integration-test crate, no unit tests.
BROKER_21_TESTS=(--test it)

# A test pass that hangs fails after this many seconds, naming itself (a full pass takes
# about two minutes on two cores), instead of using up CI's time.
TEST_DEADLINE=${MOSQ_AUTH_TEST_DEADLINE:-1200}

# deadline WHAT CMD...: runs CMD, failing loudly when it outlives TEST_DEADLINE.
deadline() {
  local what=$1 rc=0
  shift
  timeout --kill-after=30 "$TEST_DEADLINE" "$@" || rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    die "$what did not finish within $TEST_DEADLINE s (MOSQ_AUTH_TEST_DEADLINE): a test hangs"
  fi
  return $rc
}

# broker_21_pass: the integration tests against Mosquitto 2.1.2 (MOSQ_AUTH_TEST_21=1, default).
broker_21_pass() {
  case "${MOSQ_AUTH_TEST_21:-1}" in
    0) say "broker tests on mosquitto 2.1.2: off (MOSQ_AUTH_TEST_21=0)"; return 0 ;;
    1) ;;
    *) die "MOSQ_AUTH_TEST_21 must be 0 or 1, not '$MOSQ_AUTH_TEST_21'" ;;
  esac
  local prefix rc=0
  prefix=$(scripts/broker-2.1.sh) || rc=$?
  if [ $rc -eq 3 ]; then return 0; fi   # no tarball: broker-2.1.sh said so in one line
  [ $rc -eq 0 ] || die "building mosquitto 2.1.2 failed (scripts/broker-2.1.sh)"
  say "broker tests on mosquitto 2.1.2 ($prefix/sbin/mosquitto)"
  # MOSQUITTO_BIN is broker-2.1.sh's wrapper: it runs $prefix/sbin/mosquitto with
  # LD_LIBRARY_PATH=$prefix/lib for the broker only, so that the Debian clients the tests run
  # (mosquitto_pub, mosquitto_sub) keep Debian's libmosquitto. --no-fail-fast: every failing
  # test target is run and listed.
  deadline "the 2.1.2 test pass" env MOSQUITTO_BIN="$prefix/mosquitto" \
    cargo test --locked --no-fail-fast "${BROKER_21_TESTS[@]}"
}

test_all() {
  deps
  say "building"
  cargo build --locked --all-targets
  say "broker tests on mosquitto $("$(mosquitto_bin)" -h 2>&1 | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -n1) ($(mosquitto_bin)): the whole test suite"
  deadline "the test suite" cargo test --locked --all-targets
  broker_21_pass
  if [ -x .ci/deploy-check ]; then
    say "deployment checks"
    .ci/deploy-check
  fi
}

# deb: target/debian/mosq-auth_<version>_<arch>.deb with cargo-deb (installed when missing).
deb() {
  deps
  if ! cargo deb --version >/dev/null 2>&1; then
    say "installing cargo-deb: cargo install cargo-deb --locked"
    cargo install cargo-deb --locked ||
      die "cargo-deb is missing and could not be installed; run: cargo install cargo-deb --locked"
  fi
  # The upstream changelog as Debian names it (an asset in [package.metadata.deb]).
  mkdir -p target/debian-assets
  gzip -9nc CHANGELOG.md > target/debian-assets/changelog.gz
  # --strip: the release profile keeps line tables (debug = 1) for benchmarks and backtraces;
  # the package ships stripped binaries (lintian: unstripped-binary-or-object).
  say "building the Debian package: cargo deb --locked --strip"
  cargo deb --locked --strip
  ls -1 "${CARGO_TARGET_DIR:-target}"/debian/*.deb
}

case "${1:-}" in
  deps) deps ;;
  demo) demo ;;
  lint) lint ;;
  test) test_all ;;
  deb) deb ;;
  *) echo "usage: $0 deps|demo|test|lint|deb" >&2; exit 2 ;;
esac
