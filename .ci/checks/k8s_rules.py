#!/usr/bin/env python3
"""Checks a rendered kustomize overlay (one YAML stream): the objects a pod needs are rendered,
and the Deployment follows the rules (non-root, read-only root filesystem, TCP probes, requests
and limits, no subPath, /mosquitto/config one projected volume of rendered ConfigMaps/Secrets,
a PersistentVolumeClaim in use, Services for 1883, 8883 and 9001).

Usage: k8s_rules.py RENDERED.yaml (exit 1 with one line per problem)
"""
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {}
for d in docs:
    kinds.setdefault(d["kind"], []).append(d)
problems = []
need = {"Deployment", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim"}
problems += [f"no {k} rendered" for k in sorted(need - kinds.keys())]
(dep,) = kinds["Deployment"]
pod = dep["spec"]["template"]["spec"]
(c,) = pod["containers"]
if not pod.get("securityContext", {}).get("runAsNonRoot"):
    problems.append("pod lacks runAsNonRoot: true")
if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
    problems.append("container lacks readOnlyRootFilesystem: true")
for probe in ("readinessProbe", "livenessProbe"):
    if "tcpSocket" not in c.get(probe, {}):
        problems.append(f"{probe} is not a tcpSocket probe")
if not {"requests", "limits"} <= c.get("resources", {}).keys():
    problems.append("container lacks resource requests and limits")
vols = {v["name"]: v for v in pod["volumes"]}
for m in c["volumeMounts"]:
    if "subPath" in m or "subPathExpr" in m:
        problems.append(f"volumeMount {m['name']} uses subPath: the file would never update")
cfg = [m for m in c["volumeMounts"] if m["mountPath"] == "/mosquitto/config"]
if not cfg or "projected" not in vols[cfg[0]["name"]]:
    problems.append("/mosquitto/config is not one projected volume")
names = {d["metadata"]["name"] for k in ("ConfigMap", "Secret") for d in kinds.get(k, [])}
for src in vols[cfg[0]["name"]]["projected"]["sources"] if cfg else []:
    for kind in ("configMap", "secret"):
        if kind in src and src[kind]["name"] not in names:
            problems.append(f"projected {kind} {src[kind]['name']} is not rendered")
claims = {d["metadata"]["name"] for d in kinds.get("PersistentVolumeClaim", [])}
if not any(v.get("persistentVolumeClaim", {}).get("claimName") in claims for v in vols.values()):
    problems.append("no volume uses the rendered PersistentVolumeClaim")
ports = {p["port"] for s in kinds.get("Service", []) for p in s["spec"]["ports"]}
problems += [f"no Service for port {p}" for p in (1883, 8883, 9001) if p not in ports]
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
