#!/usr/bin/env python3
"""Capacitated VRP with time windows: Ruta next to PyVRP and VROOM on the same instances.

    PY=/path/to/venv/python   # with pyvrp and pyvroom installed
    $PY scripts/bench/vrptw_side_by_side.py --ruta target/release/ruta \
        [--sizes 100,200] [--budgets-s 1,10] [--classes R,C,RC] [--widths tight,wide] [--out DIR]

Instances are generated here, seeded, in the shape of Solomon's classes (no Solomon file is
in any registry): customers on a 100 x 100 square, uniform (R), around 8 cluster centres (C)
or half and half (RC); the depot in the centre; demand 1..30, capacity 200; service 10;
windows 10% (tight) or 40% (wide) of the 1,000-unit horizon, each reachable from the depot
alone. Travel time = 10 x Euclidean distance, rounded (so integers for every solver);
the fleet (n / 4 vehicles) is large enough that every solver serves everyone.

Objective, the same for all three: total travel time. Ruta runs through
`ruta route solve --vroom` (the VROOM JSON interface, 1 seed), PyVRP through its Model
(1 seed, MaxRuntime), VROOM (pyvroom, exploration 5, 1 thread) to completion. Prints a
Markdown table of costs and cost ratios ours / peer, then one JSON line with every figure.
"""
import argparse
import json
import math
import os
import random
import subprocess
import tempfile
import time

HORIZON = 10_000  # 1,000 units x 10
SERVICE = 100
CAPACITY = 200


def instance(n, cls, width, seed):
    rng = random.Random(f"{n}-{cls}-{width}-{seed}")
    centres = [(rng.uniform(15, 85), rng.uniform(15, 85)) for _ in range(8)]
    pts = []
    for i in range(n):
        clustered = cls == "C" or (cls == "RC" and i % 2 == 0)
        if clustered:
            cx, cy = rng.choice(centres)
            x, y = rng.gauss(cx, 5), rng.gauss(cy, 5)
        else:
            x, y = rng.uniform(0, 100), rng.uniform(0, 100)
        pts.append((min(100, max(0, round(x))), min(100, max(0, round(y)))))
    depot = (50, 50)
    locs = [depot] + pts
    d = [[round(10 * math.dist(a, b)) for b in locs] for a in locs]
    w = int(HORIZON * (0.10 if width == "tight" else 0.40))
    customers = []
    for i in range(1, n + 1):
        earliest, latest = d[0][i], HORIZON - SERVICE - d[i][0]
        centre = rng.uniform(earliest, latest)
        a = max(0, int(centre - w / 2))
        b = min(latest, int(centre + w / 2))
        a = min(a, b)
        customers.append({"demand": rng.randint(1, 30), "tw": (a, b), "xy": locs[i]})
    return {"name": f"{cls}-{width}-{n}", "n": n, "d": d, "customers": customers,
            "depot": depot, "vehicles": max(2, n // 4)}


def vroom_json(inst):
    return {
        "vehicles": [{"id": v, "start_index": 0, "end_index": 0, "capacity": [CAPACITY],
                      "time_window": [0, HORIZON]} for v in range(inst["vehicles"])],
        "jobs": [{"id": i + 1, "location_index": i + 1, "delivery": [c["demand"]],
                  "service": SERVICE, "time_windows": [list(c["tw"])]}
                 for i, c in enumerate(inst["customers"])],
        "matrices": {"car": {"durations": inst["d"]}},
    }


def solve_ruta(ruta, inst, budget_s, seed=1):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(vroom_json(inst), f)
        path = f.name
    t = time.perf_counter()
    out = subprocess.run([ruta, "route", "solve", "--vroom", path, "--time-limit-ms",
                          str(int(budget_s * 1000)), "--seed", str(seed)],
                         capture_output=True, text=True, check=True).stdout
    ms = (time.perf_counter() - t) * 1e3
    os.unlink(path)
    r = json.loads(out)
    return {"cost": r["summary"]["cost"], "unassigned": r["summary"]["unassigned"],
            "routes": r["summary"]["routes"], "ms": round(ms),
            "check": check_vroom_routes(inst, r)}


def check_vroom_routes(inst, sol):
    """Re-times every route from the matrix: windows, capacity, shift, reported cost."""
    d, cust = inst["d"], inst["customers"]
    total, served = 0, 0
    for route in sol["routes"]:
        t, loc, load, travel = 0, 0, 0, 0
        for st in route["steps"]:
            if st["type"] != "job":
                continue
            i = st["id"]
            c = cust[i - 1]
            travel += d[loc][i]
            t = max(t + d[loc][i], c["tw"][0])
            if t > c["tw"][1]:
                return f"job {i} starts at {t}, after its window {c['tw']}"
            t += SERVICE
            load += c["demand"]
            loc = i
            served += 1
        travel += d[loc][0]
        if t + d[loc][0] > HORIZON:
            return f"vehicle {route['vehicle']} back at {t + d[loc][0]}"
        if load > CAPACITY:
            return f"vehicle {route['vehicle']} carries {load}"
        total += travel
    if total != sol["summary"]["cost"]:
        return f"cost {sol['summary']['cost']} reported, {total} re-timed"
    return "ok" if served + sol["summary"]["unassigned"] == len(cust) else "jobs missing"


def solve_pyvrp(inst, budget_s, seed=1):
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime
    m = Model()
    # PyVRP 0.14: locations carry the edges; depots and clients sit at locations.
    locs = [m.add_location(x=inst["depot"][0], y=inst["depot"][1])]
    locs += [m.add_location(x=c["xy"][0], y=c["xy"][1]) for c in inst["customers"]]
    depot = m.add_depot(locs[0], tw_early=0, tw_late=HORIZON)
    m.add_vehicle_type(num_available=inst["vehicles"], capacity=[CAPACITY],
                       start_depot=depot, end_depot=depot, tw_early=0, tw_late=HORIZON)
    for loc, c in zip(locs[1:], inst["customers"]):
        m.add_client(loc, delivery=[c["demand"]], service_duration=SERVICE,
                     tw_early=c["tw"][0], tw_late=c["tw"][1])
    d = inst["d"]
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            m.add_edge(a, b, distance=d[i][j], duration=d[i][j])
    t = time.perf_counter()
    res = m.solve(stop=MaxRuntime(budget_s), seed=seed, display=False)
    ms = (time.perf_counter() - t) * 1e3
    best = res.best
    return {"cost": best.distance(), "feasible": best.is_feasible(),
            "routes": best.num_routes(), "ms": round(ms)}


def solve_vroom(inst):
    import vroom
    p = vroom.Input()
    p.set_durations_matrix("car", inst["d"])
    for v in range(inst["vehicles"]):
        p.add_vehicle(vroom.Vehicle(v, start=0, end=0, profile="car",
                                    capacity=vroom.Amount([CAPACITY]),
                                    time_window=vroom.TimeWindow(0, HORIZON)))
    for i, c in enumerate(inst["customers"]):
        p.add_job(vroom.Job(i + 1, location=i + 1, delivery=vroom.Amount([c["demand"]]),
                            default_service=SERVICE,
                            time_windows=[vroom.TimeWindow(*c["tw"])]))
    t = time.perf_counter()
    sol = p.solve(exploration_level=5, nb_threads=1)
    ms = (time.perf_counter() - t) * 1e3
    s = sol.to_dict()["summary"]
    return {"cost": s["cost"], "unassigned": s["unassigned"], "routes": s["routes"],
            "ms": round(ms)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ruta", default="target/release/ruta")
    ap.add_argument("--sizes", default="100,200")
    ap.add_argument("--budgets-s", default="1,10")
    ap.add_argument("--classes", default="R,C,RC")
    ap.add_argument("--widths", default="tight,wide")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-vroom", action="store_true", help="VROOM takes minutes at 1,000")
    a = ap.parse_args()
    budgets = [float(b) for b in a.budgets_s.split(",")]
    rows = []
    for n in map(int, a.sizes.split(",")):
        for cls in a.classes.split(","):
            for width in a.widths.split(","):
                inst = instance(n, cls, width, a.seed)
                row = {"instance": inst["name"],
                       "vroom": None if a.skip_vroom else solve_vroom(inst)}
                for b in budgets:
                    row[f"ruta@{b:g}s"] = solve_ruta(a.ruta, inst, b)
                    row[f"pyvrp@{b:g}s"] = solve_pyvrp(inst, b)
                rows.append(row)
                print("#", json.dumps(row), flush=True)
    head = ["instance", "VROOM (ms)"]
    for b in budgets:
        head += [f"ours @{b:g} s", f"PyVRP @{b:g} s", f"ours/PyVRP @{b:g} s"]
    head += ["ours @" + f"{budgets[0]:g} s / VROOM"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        v = r["vroom"]
        cells = [r["instance"], "not run" if v is None else f"{v['cost']} ({v['ms']})"
                 + (f" {v['unassigned']} unassigned" if v["unassigned"] else "")]
        for b in budgets:
            o, p = r[f"ruta@{b:g}s"], r[f"pyvrp@{b:g}s"]
            cells += [f"{o['cost']}" + (f" ({o['unassigned']} unassigned)" if o["unassigned"] else "")
                      + ("" if o["check"] == "ok" else f" (CHECK: {o['check']})"),
                      f"{p['cost']}" + ("" if p["feasible"] else " (infeasible)"),
                      f"{o['cost'] / p['cost']:.3f}"]
        cells.append("-" if v is None else f"{r[f'ruta@{budgets[0]:g}s']['cost'] / v['cost']:.3f}")
        print("| " + " | ".join(cells) + " |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
