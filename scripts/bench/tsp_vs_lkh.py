#!/usr/bin/env python3
"""Ruta's TSP solver side by side with LKH-3 (elkai, 10 runs) on TSPLIB EUC_2D files.

    PY=/path/to/venv/python   # a venv with elkai==2.0.1 (scripts/bench/peers-venv.sh makes one)
    $PY scripts/bench/tsp_vs_lkh.py --ruta target/release/ruta FILE.tsp... \
        [--budgets 50,200,1000] [--seeds 1,2,3] [--elkai-runs 10]

For each file: LKH's tour length and wall time (one call, `runs` as given), then Ruta's
length per budget (mean over seeds) and its gap to LKH in percent. Prints a Markdown table
and, last, one JSON line with every figure. Distances are TSPLIB EUC_2D (nint), the same
integers both solvers see.
"""
import argparse
import json
import math
import subprocess
import time


def read_euc2d(path):
    pts, in_coords = [], False
    for line in open(path):
        s = line.strip()
        if s.startswith("NODE_COORD_SECTION"):
            in_coords = True
            continue
        if s == "EOF":
            break
        if in_coords and s:
            _, x, y = s.split()[:3]
            pts.append((float(x), float(y)))
    return pts


def matrix(pts):
    return [[int(math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) + 0.5) for b in pts] for a in pts]


def length(w, tour):
    return sum(w[tour[i - 1]][tour[i]] for i in range(len(tour)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--ruta", default="target/release/ruta")
    ap.add_argument("--budgets", default="50,200,1000")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--elkai-runs", type=int, default=10)
    a = ap.parse_args()
    import elkai

    budgets = [int(b) for b in a.budgets.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    for f in a.files:
        pts = read_euc2d(f)
        w = matrix(pts)
        t = time.perf_counter()
        tour = elkai.DistanceMatrix(w).solve_tsp(runs=a.elkai_runs)
        lkh_ms = (time.perf_counter() - t) * 1e3
        if len(tour) == len(w) + 1:
            tour = tour[:-1]
        lkh = length(w, tour)
        row = {"file": f, "n": len(w), "lkh": lkh, "lkh_ms": round(lkh_ms, 1), "ruta": {}}
        for b in budgets:
            lens, bests = [], []
            for s in seeds:
                out = subprocess.run([a.ruta, "route", "solve", "--tsplib", f, "--time-limit-ms",
                                      str(b), "--seed", str(s)], check=True, capture_output=True,
                                     text=True).stdout
                r = json.loads(out)
                lens.append(r["length"])
                bests.append(r["best_ms"])
            mean = sum(lens) / len(lens)
            row["ruta"][b] = {"lengths": lens, "gap_pct": round(100 * (mean / lkh - 1), 3),
                              "worst_gap_pct": round(100 * (max(lens) / lkh - 1), 3),
                              "best_ms": bests}
        rows.append(row)
        print(f"# {f}: LKH {lkh} in {lkh_ms:.0f} ms; " + ", ".join(
            f"{b} ms {row['ruta'][b]['gap_pct']:+.2f}%" for b in budgets), flush=True)
    head = "| instance | n | LKH length | LKH ms | " + " | ".join(
        f"gap @{b} ms (worst)" for b in budgets) + " |"
    print(head)
    print("|" + "---|" * (4 + len(budgets)))
    for r in rows:
        name = r["file"].rsplit("/", 1)[-1]
        cells = " | ".join(f"{r['ruta'][b]['gap_pct']:.2f}% ({r['ruta'][b]['worst_gap_pct']:.2f}%)"
                           for b in budgets)
        print(f"| {name} | {r['n']} | {r['lkh']} | {r['lkh_ms']:.0f} | {cells} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
