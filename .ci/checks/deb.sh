#!/usr/bin/env bash
# Deployment checks: the Debian package (`make deb`, cargo-deb, [package.metadata.deb] in
# Cargo.toml, packaging/debian/).
#
#  - `scripts/dev.sh deb` builds target/debian/mosq-auth_<version>_amd64.deb.
#  - Its control fields (dpkg-deb -I) and contents (dpkg-deb -c): the plugin, the CLI, the man
#    page, docs and example configurations where the README says, Depends on mosquitto.
#  - lintian (installed with apt as root): no error or warning (overrides, each with its reason,
#    in packaging/debian/lintian-overrides); info tags are printed.
#  - The package unpacked with `dpkg -x` into a temp dir (nothing is installed): Debian's
#    /usr/sbin/mosquitto runs the packaged plugin with the packaged conf/demo.* (paths adapted as
#    `scripts/dev.sh demo` does), the demo user is admitted and a wrong password refused (rc 5);
#    the packaged /usr/bin/mosq-auth --help works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

deb_dir=${CARGO_TARGET_DIR:-$top/target}/debian
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
deb=$deb_dir/mosq-auth_${version}-1_${arch}.deb
doc=usr/share/doc/mosq-auth

need_cargo_deb() {
    cargo deb --version >/dev/null 2>&1 && return 0
    say "installing cargo-deb: cargo install cargo-deb --locked"
    cargo install cargo-deb --locked ||
        skip "cargo-deb is missing and could not be installed" "cargo install cargo-deb --locked"
}

need_deb() {
    [ -f "$deb" ] || { say "$deb was not built"; return 1; }
}

check_build_deb() {
    need_cmd dpkg-deb dpkg
    need_build_deps
    need_cargo_deb
    rm -f "$deb_dir"/mosq-auth_*.deb
    scripts/dev.sh deb
    need_deb
    say "built $deb ($(du -k "$deb" | cut -f1) KiB)"
}

check_contents() {
    need_deb
    local info list f bad=0
    info=$(dpkg-deb -I "$deb")
    list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#')
    say "$info" | sed -n '/^ Package:/,$p'
    field() { dpkg-deb -f "$deb" "$1"; }
    [ "$(field Package)" = mosq-auth ] || { say "Package: $(field Package)"; bad=1; }
    [ "$(field Version)" = "$version-1" ] || { say "Version: $(field Version), want $version-1"; bad=1; }
    [ "$(field Architecture)" = "$arch" ] || { say "Architecture: $(field Architecture)"; bad=1; }
    field Depends | tr ',' '\n' | sed 's/^ *//' | grep -qx 'mosquitto' ||
        { say "Depends does not name mosquitto: $(field Depends)"; bad=1; }
    for f in /usr/lib/mosquitto-auth/libmosq_auth.so /usr/bin/mosq-auth \
        /usr/share/man/man1/mosq-auth.1.gz /$doc/copyright /$doc/changelog.Debian.gz \
        /$doc/README.md /$doc/changelog.gz /$doc/cli.md /usr/share/lintian/overrides/mosq-auth; do
        grep -qx "$f" <<<"$list" || { say "missing from the package: $f"; bad=1; }
    done
    for f in conf/*; do
        grep -qx "/$doc/examples/$(basename "$f")" <<<"$list" ||
            { say "missing from the package: /$doc/examples/$(basename "$f")"; bad=1; }
    done
    return $bad
}

check_lintian() {
    need_deb
    need_cmd lintian lintian
    local out rc=0
    # --fail-on error,warning: an error or a warning fails the check; info tags are listed.
    out=$(lintian --info --display-info --fail-on error,warning "$deb" 2>&1) || rc=$?
    if [ -z "$out" ]; then say "lintian: no findings"; else say "$out"; fi
    return $rc
}

check_broker() {
    need_deb
    need_broker
    local root=$work/unpacked conf=$work/demo port rc=0 i
    [ -x /usr/sbin/mosquitto ] || skip "Debian's /usr/sbin/mosquitto is missing" "apt-get install -y mosquitto"
    dpkg -x "$deb" "$root"
    mkdir -p "$conf"
    chmod 755 "$work" "$conf"
    cp "$root/$doc/examples/demo.passwd" "$root/$doc/examples/demo.acl" "$conf/"
    for i in 1 2 3; do   # a free port can be taken before the broker binds it: retry
        port=$(free_port)
        sed -e "s#/mosquitto/config/#$conf/#g" \
            -e "s#/usr/lib/mosquitto-auth/libmosq_auth.so#$root/usr/lib/mosquitto-auth/libmosq_auth.so#g" \
            -e "s#^listener 1883.*#listener $port 127.0.0.1#" \
            "$root/$doc/examples/demo.conf" >"$conf/mosquitto.conf"
        grep -q "^plugin $root/usr/lib/mosquitto-auth/libmosq_auth.so\$" "$conf/mosquitto.conf" ||
            { say "demo.conf has no plugin line to adapt"; return 1; }
        chmod 644 "$conf"/*
        chmod -R a+rX "$root"
        rc=0
        MOSQUITTO=/usr/sbin/mosquitto start_broker "$conf/mosquitto.conf" "$conf/log.$i" "$port" || rc=$?
        [ $rc -eq 0 ] && break
        grep -q "Address already in use" "$conf/log.$i" || return $rc
    done
    [ $rc -eq 0 ] || return $rc
    local c=(-h 127.0.0.1 -p "$port")
    expect_rc 0 mosquitto_pub "${c[@]}" -u demo -P demo-password -t demo/deb -m hi
    expect_rc 5 mosquitto_pub "${c[@]}" -u demo -P wrong -t demo/deb -m hi
    roundtrip "${c[@]}" -u demo -P demo-password
    # demo.conf has no password_file: only the plugin can have admitted demo and refused the rest.
    grep -q '^password_file' "$conf/mosquitto.conf" && { say "demo.conf uses password_file"; return 1; }
    say "Debian's $(/usr/sbin/mosquitto -h 2>&1 | head -n1) ran the packaged plugin"
}

check_cli() {
    need_deb
    local root=$work/unpacked-cli out
    dpkg -x "$deb" "$root"
    out=$("$root/usr/bin/mosq-auth" --help)
    say "$out" | head -n3
    grep -q "^Usage: mosq-auth" <<<"$out" || { say "unexpected --help output"; return 1; }
    "$root/usr/bin/mosq-auth" --version | grep -qx "mosq-auth $version"
}

check "make deb builds target/debian/mosq-auth_${version}-1_${arch}.deb" check_build_deb
check "the package's control fields and contents (dpkg-deb -I / -c)" check_contents
check "lintian on the package" check_lintian
check "the packaged plugin (dpkg -x) in Debian's /usr/sbin/mosquitto: demo admitted, wrong password refused" check_broker
check "the packaged /usr/bin/mosq-auth --help" check_cli
finish
