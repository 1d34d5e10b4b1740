#!/usr/bin/env python3
"""Random test instances for peers.py, in the format the Rust bench binary writes.

For testing peers.py before (or independently of) the Rust side; the real benchmark
instances come from the Rust bench binary. Standard library only.

  make_test_instance.py pdptw OUT.json [--shipments 20] [--vehicles 3] [--seed 1]
                        [--capacity 8] [--asymmetric] [--open-routes]
  make_test_instance.py tsp OUT.json [--nodes 30] [--seed 1] [--asymmetric]

Points are uniform in a 10 km square; travel time is Euclidean distance at 8 m/s,
rounded to whole seconds. --asymmetric multiplies each arc by its own factor in
[1.0, 1.5) (a crude stand-in for one-way streets). --open-routes gives every second
vehicle "end": null. Delivery windows are two hours wide and chosen so that the direct
depot -> pickup -> delivery trip fits, so instances are feasible with enough vehicles.
"""

import argparse
import json
import math
import random

SPEED_MPS = 8.0
SIDE_M = 10_000.0
DAY = 8 * 3600


def matrices(points, rng, asymmetric):
    n = len(points)
    dist = [[0] * n for _ in range(n)]
    dur = [[0] * n for _ in range(n)]
    for i, (xi, yi) in enumerate(points):
        for j, (xj, yj) in enumerate(points):
            if i == j:
                continue
            d = math.hypot(xi - xj, yi - yj)
            if asymmetric:
                d *= 1.0 + 0.5 * rng.random()
            dist[i][j] = int(round(d))
            dur[i][j] = int(round(d / SPEED_MPS))
    return dur, dist


def make_pdptw(args):
    rng = random.Random(args.seed)
    n = 1 + 2 * args.shipments
    points = [(SIDE_M / 2, SIDE_M / 2)] + [
        (rng.uniform(0, SIDE_M), rng.uniform(0, SIDE_M)) for _ in range(n - 1)
    ]
    dur, dist = matrices(points, rng, args.asymmetric)
    vehicles = []
    for v in range(args.vehicles):
        is_open = args.open_routes and v % 2 == 1
        vehicles.append({
            "id": v,
            "start": 0,
            "end": None if is_open else 0,
            "capacity": [args.capacity],
            "time_window": [0, DAY],
        })
    shipments = []
    for s in range(args.shipments):
        p, d = 1 + 2 * s, 2 + 2 * s
        ps, ds = rng.choice([60, 120, 180]), rng.choice([60, 120, 180, 300])
        earliest_done = dur[0][p] + ps + dur[p][d]
        # Latest start of the delivery window such that the window still ends before the
        # vehicle must be home.
        lo = max(0, earliest_done - 7200 + 600)
        hi = max(lo, DAY - 7200 - ds - dur[d][0])
        tw_start = rng.randint(lo, hi)
        shipments.append({
            "id": s,
            "amount": [rng.randint(1, 3)],
            "pickup": {"location": p, "service": ps, "time_window": [0, DAY]},
            "delivery": {"location": d, "service": ds,
                         "time_window": [tw_start, tw_start + 7200]},
        })
    return {
        "name": args.name or f"rand-pdptw-{args.shipments}-s{args.seed}"
                             + ("-asym" if args.asymmetric else ""),
        "kind": "pdptw",
        "durations": dur,
        "distances": dist,
        "vehicles": vehicles,
        "shipments": shipments,
    }


def make_tsp(args):
    rng = random.Random(args.seed)
    points = [(rng.uniform(0, SIDE_M), rng.uniform(0, SIDE_M)) for _ in range(args.nodes)]
    dur, dist = matrices(points, rng, args.asymmetric)
    return {
        "name": args.name or f"rand-tsp-{args.nodes}-s{args.seed}"
                             + ("-asym" if args.asymmetric else ""),
        "kind": "tsp",
        "durations": dur,
        "distances": dist,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["pdptw", "tsp"])
    ap.add_argument("out")
    ap.add_argument("--shipments", type=int, default=20)
    ap.add_argument("--vehicles", type=int, default=3)
    ap.add_argument("--capacity", type=int, default=8)
    ap.add_argument("--nodes", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--asymmetric", action="store_true")
    ap.add_argument("--open-routes", action="store_true")
    ap.add_argument("--name")
    args = ap.parse_args()
    inst = make_pdptw(args) if args.kind == "pdptw" else make_tsp(args)
    with open(args.out, "w") as f:
        json.dump(inst, f)


if __name__ == "__main__":
    main()
