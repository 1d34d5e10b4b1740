#!/usr/bin/env python3
"""Writes random uniform EUC_2D TSPLIB instances, seeded, so every machine gets the same files.

    python3 scripts/bench/tsp_instances.py OUT_DIR [--sizes 120,200,300,500,1000] [--seeds 1,2]

Cities are uniform on a 10,000 x 10,000 square with integer coordinates (TSPLIB EUC_2D:
distances rounded to the nearest integer). File names: rand<N>s<SEED>.tsp. Standard library
only; the generator is Python's `random.Random(seed * 1_000_003 + n)`, stable across versions.
"""
import argparse
import os
import random


def instance(n, seed):
    rng = random.Random(seed * 1_000_003 + n)
    pts = [(rng.randrange(10_000), rng.randrange(10_000)) for _ in range(n)]
    lines = [
        f"NAME : rand{n}s{seed}",
        "COMMENT : uniform random, scripts/bench/tsp_instances.py",
        "TYPE : TSP",
        f"DIMENSION : {n}",
        "EDGE_WEIGHT_TYPE : EUC_2D",
        "NODE_COORD_SECTION",
    ]
    lines += [f"{i + 1} {x} {y}" for i, (x, y) in enumerate(pts)]
    lines.append("EOF")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--sizes", default="120,200,300,500,1000")
    ap.add_argument("--seeds", default="1,2")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for n in map(int, a.sizes.split(",")):
        for s in map(int, a.seeds.split(",")):
            path = os.path.join(a.out, f"rand{n}s{s}.tsp")
            with open(path, "w") as f:
                f.write(instance(n, s))
            print(path)


if __name__ == "__main__":
    main()
