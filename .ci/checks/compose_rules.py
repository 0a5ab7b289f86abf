#!/usr/bin/env python3
"""Checks `docker compose config --format json` of the default and the files profile.

Usage: compose_rules.py DEFAULT.json FILES.json (exit 1 with one line per problem)
"""
import json, os, sys
default, files = (json.load(open(p)) for p in sys.argv[1:])
problems = []
if set(default["services"]) != {"auth-server", "broker"}:
    problems.append(f"default services: {sorted(default['services'])}")
if "broker-files" not in files["services"]:
    problems.append("profile files has no broker-files service")
for name, svc in files["services"].items():
    for v in svc.get("volumes", []):
        if v["type"] == "bind" and not os.path.exists(v["source"]):
            problems.append(f"{name}: bind source {v['source']} does not exist")
    if name.startswith("broker") and not any(v["target"] == "/mosquitto/data" for v in svc.get("volumes", [])):
        problems.append(f"{name}: no persistence volume on /mosquitto/data")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
