"""Makes an OPL extract referentially complete for tilemaker 2.2.

The Helsinki extract is clipped: ways on its edge reference nodes it does not contain, and
relations reference ways outside it. tilemaker 2.2 aborts on those even with
--skip-integrity, so this drops the missing references (a way keeps the nodes that exist;
one left with fewer than two is dropped, and so are relation members that don't exist).

Usage: python3 clip-refs.py IN.opl OUT.opl
"""
import sys

src, dst = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().splitlines()
nodes = {l.split(" ", 1)[0] for l in lines if l.startswith("n")}
ways = set()
out = []
for line in lines:
    if line.startswith("w"):
        fields = line.split(" ")
        i = next(k for k, f in enumerate(fields) if f.startswith("N"))
        refs = [r for r in fields[i][1:].split(",") if r in nodes]
        if len(refs) < 2:
            continue
        fields[i] = "N" + ",".join(refs)
        ways.add(fields[0])
        line = " ".join(fields)
    elif line.startswith("r"):
        fields = line.split(" ")
        i = next(k for k, f in enumerate(fields) if f.startswith("M"))
        members = [m for m in fields[i][1:].split(",") if m]
        keep = [m for m in members if (m[0] == "n" and m.split("@")[0] in nodes)
                or (m[0] == "w" and m.split("@")[0] in ways)]
        if not keep:
            continue
        fields[i] = "M" + ",".join(keep)
        line = " ".join(fields)
    out.append(line)
open(dst, "w", encoding="utf-8").write("\n".join(out) + "\n")
