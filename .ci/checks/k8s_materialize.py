#!/usr/bin/env python3
"""Writes an overlay's mounted ConfigMaps/Secrets as the kubelet does.

Usage: k8s_materialize.py RENDERED.yaml ROOT PLUGIN CERTS

Every volume mounted by the Deployment's container is written under ROOT (a timestamped
directory, ..data pointing at it, each entry a symlink through ..data), placeholder TLS values
replaced by the files of the same name in CERTS. ROOT/run.conf is the container's -c config with
the mount paths under ROOT, the plugin path replaced by PLUGIN and each `listener N` moved to a
free port on 127.0.0.1. Prints one "N=PORT" line per listener.
"""
import base64, os, re, socket, sys, yaml
rendered, root, plugin, certs = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
objs = {(d["kind"], d["metadata"]["name"]): d for d in docs}
(dep,) = [d for d in docs if d["kind"] == "Deployment"]
pod = dep["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod["volumes"]}

def data(kind, name):
    o = objs[(kind, name)]
    if kind == "Secret":  # data is base64, stringData plain
        out = {k: base64.b64decode(v) for k, v in (o.get("data") or {}).items()}
        out.update({k: v.encode() for k, v in (o.get("stringData") or {}).items()})
    else:  # ConfigMap: data is plain, binaryData base64
        out = {k: v.encode() for k, v in (o.get("data") or {}).items()}
        out.update({k: base64.b64decode(v) for k, v in (o.get("binaryData") or {}).items()})
    return out

def write(path, content):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if b"placeholder" in content and os.path.basename(path) in os.listdir(certs):
        content = open(os.path.join(certs, os.path.basename(path)), "rb").read()
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o644)

def source(kind, spec, base):
    d = data(kind, spec["name"])
    items = spec.get("items") or [{"key": k, "path": k} for k in d]
    for it in items:
        write(os.path.join(base, it["path"]), d[it["key"]])

mounts = {}
for m in pod["containers"][0]["volumeMounts"]:
    v, base = vols[m["name"]], root + m["mountPath"]
    mounts[m["mountPath"]] = base
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o777 if m.get("readOnly") is not True else 0o755)
    # The kubelet's layout: files in a timestamped directory, ..data -> that directory, and
    # each top-level entry a symlink through ..data (an update swaps ..data atomically).
    real = os.path.join(base, "..2000_01_01_00_00_00.000000001")
    if "projected" in v:
        for s in v["projected"]["sources"]:
            for kind, k in (("configMap", "ConfigMap"), ("secret", "Secret")):
                if kind in s:
                    source(k, s[kind], real)
    elif "configMap" in v:
        source("ConfigMap", {"name": v["configMap"]["name"], **v["configMap"]}, real)
    elif "secret" in v:
        source("Secret", {"name": v["secret"]["secretName"], **v["secret"]}, real)
    if os.path.isdir(real):
        os.symlink(os.path.basename(real), os.path.join(base, "..data"))
        for entry in os.listdir(real):
            os.symlink(os.path.join("..data", entry), os.path.join(base, entry))

args = pod["containers"][0].get("args") or []
conf_path = args[args.index("-c") + 1]
text = open(root + conf_path).read()
# One pass, so that a path already rewritten is never rewritten again.
repl = {mp.rstrip("/") + "/": base.rstrip("/") + "/" for mp, base in mounts.items()}
repl["/usr/lib/mosquitto-auth/libmosq_auth.so"] = plugin
pattern = "|".join(re.escape(k) for k in sorted(repl, key=len, reverse=True))
text = re.sub(r"(?<![\w./-])(" + pattern + ")", lambda m: repl[m.group(1)], text)

def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

ports = {}
def listener(m):
    ports[m.group(1)] = free()
    return f"listener {ports[m.group(1)]} 127.0.0.1"
text = re.sub(r"(?m)^listener (\d+)\s*$", listener, text)
with open(os.path.join(root, "run.conf"), "w") as f:
    f.write(text)
os.chmod(os.path.join(root, "run.conf"), 0o644)
for k, v in ports.items():
    print(f"{k}={v}")
