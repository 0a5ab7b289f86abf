#!/usr/bin/env python3
"""Instructions per ACL check and per CONNECT from callgrind output files (benches/callgrind.sh).

Usage: callgrind_table.py DIR SETUP[,SETUP...]

Reads every DIR/<setup>.<pid>[.<part>] file that `valgrind --tool=callgrind
--callgrind-out-file=DIR/{setup}.%p` wrote and prints a markdown table: per setup the calls of
the broker's ACL entry point `mosquitto_acl_check` and its inclusive instructions (Ir) per call;
for mosq-auth setups the same for the plugin's own callbacks (`on_acl_check`, `on_basic_auth`
in libmosq_auth.so); per CONNECT the inclusive Ir per call of the broker's basic-auth entry
point (`mosquitto_unpwd_check` on 2.0, `mosquitto_basic_auth` on 2.1) and of `handle__connect`.

The callgrind format is parsed directly (not callgrind_annotate's truncated listing): name
compression (`fn=(id) name`, later `fn=(id)`; files, objects and functions each have their own
id space), `cob=`/`cfi=`/`cfn=` valid for the next `calls=` line only, and `calls=N target`
followed by the cost line whose events are the inclusive cost of those N calls. A function's
calls and inclusive cost are summed over all its call sites (calls from the function to itself
are left out, so recursion is not counted twice).
"""

import os
import re
import sys
from collections import defaultdict


def parse(path):
    """Returns (events, calls, incl, self_cost, totals): per (object, function) the number of
    calls, the inclusive cost of those calls (a list per event) and the exclusive cost."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    kind_of = {
        "ob": "ob",
        "cob": "ob",
        "fl": "fl",
        "fi": "fl",
        "fe": "fl",
        "cfi": "fl",
        "cfl": "fl",
        "fn": "fn",
        "cfn": "fn",
    }
    comp = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")

    def name(kind, value):
        value = value.strip()
        m = comp.match(value)
        if not m:
            return value
        ident, text = m.group(1), m.group(2)
        table = names[kind_of[kind]]
        if text is not None:
            table[ident] = text
            return text
        return table.get(ident, "(%s)" % ident)

    events = []
    npos = 1
    calls = defaultdict(int)
    incl = defaultdict(lambda: None)
    self_cost = defaultdict(lambda: None)
    totals = None
    ob = fn = None
    cob = cfn = None
    pending = None  # (count, callee) of a calls= line: its cost line comes next

    def add(table, key, values):
        cur = table[key]
        if cur is None:
            cur = [0] * len(events)
            table[key] = cur
        for i, v in enumerate(values[: len(events)]):
            cur[i] += v

    def costs(line):
        fields = line.split()
        vals = []
        for f in fields[npos:]:
            try:
                vals.append(int(f))
            except ValueError:
                vals.append(0)
        return vals

    with open(path, "r", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            c0 = line[0]
            if pending is not None and (c0.isdigit() or c0 in "+-*"):
                count, callee = pending
                pending = None
                if callee != (ob, fn):
                    calls[callee] += count
                    add(incl, callee, costs(line))
                continue
            if c0.isdigit() or c0 in "+-*":
                if fn is not None:
                    add(self_cost, (ob, fn), costs(line))
                continue
            key, sep, value = line.partition("=")
            if sep:
                if key == "ob":
                    ob = name(key, value)
                elif key == "fn":
                    fn = name(key, value)
                    cob = cfn = None
                elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                    name(key, value)
                elif key == "cob":
                    cob = name(key, value)
                elif key == "cfn":
                    cfn = name(key, value)
                elif key == "calls":
                    count = int(value.split()[0])
                    pending = (count, (cob if cob is not None else ob, cfn))
                    # cob=/cfi=/cfn= hold for this call only.
                    cob = cfn = None
                continue
            key, sep, value = line.partition(":")
            if sep:
                if key == "events":
                    events = value.split()
                elif key == "positions":
                    npos = len(value.split())
                elif key in ("totals", "summary"):
                    vals = [int(v) for v in value.split()]
                    if key == "totals" or totals is None:
                        totals = vals
    return events, calls, incl, self_cost, totals


def short(fn):
    """`mosq_auth::ffi::v5::on_acl_check` (and a `::h<hash>` suffix) -> `on_acl_check`."""
    fn = re.sub(r"::h[0-9a-f]{16}$", "", fn or "")
    return fn.rsplit("::", 1)[-1]


def lookup(data, names, obj_part=None, pattern=None):
    """Calls and inclusive Ir summed over the functions whose short name is in `names` (or
    whose full name matches `pattern`) and whose object contains `obj_part`, and the full
    names found."""
    calls, incl = data["calls"], data["incl"]
    n = ir = 0
    found = set()
    for (ob, fn), c in calls.items():
        hit = short(fn) in names if pattern is None else re.search(pattern, fn or "")
        if hit and (obj_part is None or obj_part in (ob or "")):
            n += c
            ir += (incl[(ob, fn)] or [0])[0]
            found.add("%s (%s)" % (fn, os.path.basename(ob or "?")))
    return n, ir, found


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out_dir, setups = sys.argv[1], sys.argv[2].split(",")
    rows = []
    notes = []
    seen_names = set()
    for setup in setups:
        files = sorted(
            os.path.join(out_dir, f)
            for f in os.listdir(out_dir)
            if re.fullmatch(re.escape(setup) + r"\.\d+(\.\d+)?(-\d+)?", f)
        )
        if not files:
            rows.append((setup, None))
            continue
        merged = {"calls": defaultdict(int), "incl": defaultdict(lambda: None), "total": 0}
        for path in files:
            events, calls, incl, _self, totals = parse(path)
            if events and events[0] != "Ir":
                sys.exit("%s: first event is %s, not Ir" % (path, events[0]))
            for k, v in calls.items():
                merged["calls"][k] += v
                cur = merged["incl"][k] or [0]
                merged["incl"][k] = [cur[0] + (incl[k] or [0])[0]]
            merged["total"] += (totals or [0])[0]
        acl = lookup(merged, {"mosquitto_acl_check"})
        ours_acl = lookup(merged, {"on_acl_check", "mosquitto_auth_acl_check"}, "libmosq_auth")
        unpwd = lookup(merged, {"mosquitto_unpwd_check", "mosquitto_basic_auth"})
        ours_auth = lookup(merged, {"on_basic_auth", "mosquitto_auth_unpwd_check"}, "libmosq_auth")
        connect = lookup(merged, {"handle__connect"})
        # Logins parked on the plugin's worker threads (2.1, HTTP): the job, per login.
        parked = lookup(merged, set(), "libmosq_auth", r"enable_parking::\{\{closure\}\}$")
        for x in (acl, ours_acl, unpwd, ours_auth, connect, parked):
            seen_names |= x[2]
        if parked[0]:
            notes.append(
                "%s: %s logins answered on the plugin's worker threads (parked), %s Ir each "
                "(`Plugin::enable_parking`'s job, not inside the broker's basic-auth call)"
                % (setup, "{:,}".format(parked[0]), "{:,.0f}".format(parked[1] / parked[0]))
            )
        rows.append((setup, (files, merged["total"], acl, ours_acl, unpwd, ours_auth, connect)))

    def per(x):
        n, ir = x[0], x[1]
        return ("{:,}".format(n), "{:,.0f}".format(ir / n) if n else "")

    print(
        "| setup | ACL checks (`mosquitto_acl_check` calls) | Ir per check, whole "
        "(`mosquitto_acl_check` inclusive) | `on_acl_check` calls | Ir per `on_acl_check` "
        "(mosq-auth) | basic-auth checks (`mosquitto_unpwd_check` 2.0, `mosquitto_basic_auth` "
        "2.1: calls) | Ir per basic-auth check | Ir per `on_basic_auth` (mosq-auth) | "
        "`handle__connect` calls | Ir per `handle__connect` | Ir in the whole profile |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for setup, r in rows:
        if r is None:
            print("| %s | no callgrind file in %s |  |  |  |  |  |  |  |  |  |" % (setup, out_dir))
            continue
        files, total, acl, ours_acl, unpwd, ours_auth, connect = r
        a, oa, u, ob_, c = per(acl), per(ours_acl), per(unpwd), per(ours_auth), per(connect)
        print(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                setup,
                a[0],
                a[1],
                oa[0] if ours_acl[0] else "",
                oa[1],
                u[0],
                u[1],
                ob_[1],
                c[0],
                c[1],
                "{:,}".format(total),
            )
        )
    print()
    for n in notes:
        print("- " + n)
    print("- functions matched: " + "; ".join(sorted(seen_names)))


if __name__ == "__main__":
    main()
