#!/usr/bin/env bash
# Builds Mosquitto 2.1.2 from the vendored source tarball into target/mosquitto-2.1.2/ (once):
#
#   scripts/broker-2.1.sh          build if needed; prints the prefix (last line of stdout)
#   scripts/broker-2.1.sh --check  exit 0 if built for the tarball, 1 if not (builds nothing)
#
# The tarball is ../shared/vendor/mosquitto-2.1.2.tar.gz beside the repository (read-only, never
# copied into the repo), or MOSQ_21_TARBALL. Its sha256 is verified against the vendor README's
# (MOSQ_21_SHA256 overrides). A build is skipped when target/mosquitto-2.1.2/.built holds the
# tarball's sha256. Build dependencies (cmake, libcjson-dev, libssl-dev, libargon2-dev, a C
# compiler) are installed with apt-get as root, or the exact install line is printed.
#
# Exit codes: 0 built (or already built), 3 tarball absent (one line on stderr), 1 any error.
# Run the broker as PREFIX/sbin/mosquitto with LD_LIBRARY_PATH=PREFIX/lib, or as PREFIX/mosquitto
# (a wrapper that sets LD_LIBRARY_PATH for the broker only).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

tarball=${MOSQ_21_TARBALL:-$top/../shared/vendor/mosquitto-2.1.2.tar.gz}
prefix=${MOSQ_21_PREFIX:-$top/target/mosquitto-2.1.2}
stamp=$prefix/.built
build=$top/target/mosquitto-2.1.2-build
# From vendor/README.md (the table row of mosquitto-2.1.2.tar.gz); this copy is used when the
# README is not beside the tarball.
known_sha256=757b45ea4b3cbe6617c968790d97d04e0263f08ec2f8e63b8d2d28472014cef1
deps=(cmake gcc g++ make libcjson-dev libssl-dev libargon2-dev)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'broker-2.1.sh: %s\n' "$*" >&2; exit 1; }

if ! [ -f "$tarball" ]; then
    printf 'mosquitto 2.1.2: %s is absent; testing with mosquitto 2.0 only\n' "$tarball" >&2
    exit 3
fi

readme=$(dirname "$tarball")/README.md
want=${MOSQ_21_SHA256:-} from=MOSQ_21_SHA256
if [ -z "$want" ] && [ -f "$readme" ]; then
    want=$(grep -F "$(basename "$tarball")" "$readme" | grep -oE '\b[0-9a-f]{64}\b' | head -n1 || true)
    from=$readme
fi
[ -n "$want" ] || { want=$known_sha256; from="the sha256 in $0"; }
got=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$got" = "$want" ] || die "$tarball: sha256 $got, expected $want (from $from)"

# write_wrapper: PREFIX/mosquitto, the broker with LD_LIBRARY_PATH=PREFIX/lib set for the broker
# alone (exec: same pid). Tests point MOSQUITTO_BIN at it: an LD_LIBRARY_PATH exported to the whole
# test run would also reach Debian's mosquitto_pub/mosquitto_sub, which then load 2.1.2's
# libmosquitto.so.1 and fail ("Error: Bad file descriptor").
write_wrapper() {
    cat >"$prefix/mosquitto" <<WRAPPER
#!/bin/sh
# Mosquitto 2.1.2 built by scripts/broker-2.1.sh, with its own libraries.
LD_LIBRARY_PATH="$prefix/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$prefix/sbin/mosquitto" "\$@"
WRAPPER
    chmod 755 "$prefix/mosquitto"
}

if [ -x "$prefix/sbin/mosquitto" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$got" ]; then
    [ "${1:-}" = --check ] && exit 0
    write_wrapper
    say "mosquitto 2.1.2 already built in $prefix (sha256 matches $stamp)"
    echo "$prefix"
    exit 0
fi
[ "${1:-}" = --check ] && exit 1

missing=()
for p in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing the build dependencies of mosquitto 2.1.2: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        die "missing build dependencies; run: sudo apt-get install -y ${missing[*]}"
    fi
fi

say "building mosquitto 2.1.2 from $tarball into $prefix"
t0=$(date +%s)
rm -rf "$build" "$prefix"
mkdir -p "$build/src"
tar -xzf "$tarball" -C "$build/src" --strip-components=1
cmake -S "$build/src" -B "$build/obj" -DWITH_TESTS=OFF -DWITH_DOCS=OFF -DWITH_CTRL_SHELL=OFF \
    -DWITH_LTO=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
    >"$build/cmake.log" 2>&1 || { tail -n 30 "$build/cmake.log" >&2; die "cmake configure failed (log: $build/cmake.log)"; }
cmake --build "$build/obj" -j"$(nproc)" >>"$build/cmake.log" 2>&1 ||
    { tail -n 30 "$build/cmake.log" >&2; die "build failed (log: $build/cmake.log)"; }
cmake --install "$build/obj" >>"$build/cmake.log" 2>&1 ||
    { tail -n 30 "$build/cmake.log" >&2; die "install failed (log: $build/cmake.log)"; }
version=$(LD_LIBRARY_PATH=$prefix/lib "$prefix/sbin/mosquitto" -h 2>&1 || true)
grep -q 'mosquitto version 2\.1\.2' <<<"$version" ||
    die "$prefix/sbin/mosquitto does not say it is version 2.1.2: $(head -n2 <<<"$version")"
write_wrapper
echo "$got" >"$stamp"
rm -rf "$build"
say "mosquitto 2.1.2 built in $(($(date +%s) - t0)) s"
echo "$prefix"
