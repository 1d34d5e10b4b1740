#!/usr/bin/env python3
"""Run peer routing solvers on one benchmark instance and print one JSON line per solver.

    <venv python> scripts/bench/peers.py INSTANCE.json [--time-limit-ms 1000]
                  [--solvers vroom,ortools,elkai,vrp-core]

Peers: VROOM (pyvroom), Google OR-Tools routing (ortools), LKH (elkai, TSP only), and
reinterpretcat/vrp's vrp-core (PDPTW only, opt-in: a separate Rust binary built from
scripts/bench/vrp-core-peer, run as a subprocess).
The venv with pinned versions comes from scripts/bench/peers-venv.sh; see README.md.

Every output line (stdout, one per requested solver, in the order asked) is a JSON object:

  solver        "vroom" | "ortools" | "elkai" | "vrp-core"
  instance      the instance's "name"
  cost          total travel duration (s), recomputed HERE from "durations" along "routes"
  solver_cost   what the solver itself reported (OR-Tools: its objective, which includes
                solver_drop_penalty for dropped stops; elkai reports no cost: null)
  unassigned    shipments (pdptw) / nodes (tsp) not served, counted HERE from the routes
  ms            wall milliseconds of the solve call only (model building excluded)
  routes        [[matrix location indices in visit order], ...]: one per USED vehicle,
                starting with the vehicle's start and ending with its end (omitted when
                "end" is null); tsp: [[0, ..., 0]], the closed tour
  valid         true iff the checks below found no problem
  problems      list of strings, one per violated check
  + extras: route_vehicles (vehicle ids parallel to routes), cost_matches_solver,
    threads, time_limit_ms and solver-specific settings/status.

A solver that raises, crashes or exceeds --kill-after-s prints
  {"solver": ..., "instance": ..., "error": "..."}
instead, and the run goes on with the next solver (each solve runs in a forked child).

Checks (pdptw): each shipment's pickup and delivery both served exactly once, in the same
route, pickup first; time windows with waiting allowed: arrival = max(tw_start,
prev_departure + travel), arrival <= tw_end, departure = arrival + service (the vehicle
leaves its start at its time_window start); load in every capacity dimension within
[0, capacity] after every stop; at the route end, arrival at "end" (or, for an open route,
the departure from the last stop) <= the vehicle's time_window end.
Checks (tsp): the tour starts and ends at node 0 and visits every other node exactly once.

Exit status: 0 once every requested solver has a line (errors included), 2 when the
instance cannot be read.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
import traceback

MAX_PROBLEMS = 50


# ----------------------------------------------------------------------------- instance

class Instance:
    """The instance with defaults filled in; everything is plain ints and lists."""

    def __init__(self, raw, fallback_name):
        self.name = raw.get("name") or fallback_name
        self.kind = raw.get("kind", "pdptw")
        if self.kind not in ("pdptw", "tsp"):
            raise ValueError(f"unknown kind {self.kind!r}")
        d = raw["durations"]
        n = len(d)
        if any(len(row) != n for row in d):
            raise ValueError("durations is not square")
        self.n = n
        self.durations = [[int(round(x)) for x in row] for row in d]
        if any(x < 0 for row in self.durations for x in row):
            raise ValueError("negative duration")
        if self.kind == "tsp":
            self.vehicles, self.shipments, self.dims, self.horizon = [], [], 0, 0
            return

        raw_vehicles = raw.get("vehicles") or []
        raw_shipments = raw.get("shipments") or []
        if not raw_vehicles:
            raise ValueError("pdptw instance without vehicles")
        self.dims = max([len(v.get("capacity") or []) for v in raw_vehicles]
                        + [len(s.get("amount") or []) for s in raw_shipments] + [0])
        max_d = max((max(row) for row in self.durations), default=0)

        def loc(x):
            if x is None:
                return None
            x = int(x)
            if not 0 <= x < n:
                raise ValueError(f"location {x} outside the {n}x{n} matrix")
            return x

        def pad(amount, fill):
            amount = [int(a) for a in (amount or [])]
            return amount + [fill] * (self.dims - len(amount))

        tw_ends = [tw[1] for tw in
                   [v.get("time_window") for v in raw_vehicles]
                   + [s[k].get("time_window") for s in raw_shipments
                      for k in ("pickup", "delivery")] if tw]
        services = sum(int(s[k].get("service") or 0)
                       for s in raw_shipments for k in ("pickup", "delivery"))
        # Bound on any sensible time: used for missing time windows and OR-Tools' horizon.
        self.horizon = int(max(tw_ends + [0]) + services + (2 * len(raw_shipments) + 2) * max_d)
        total_amount = [sum(pad(s.get("amount"), 0)[k] for s in raw_shipments)
                        for k in range(self.dims)]

        def tw(x):
            if not x:
                return (0, self.horizon)
            a, b = int(x[0]), int(x[1])
            if a > b:
                raise ValueError(f"time window {x} has start > end")
            return (a, b)

        self.vehicles = []
        for v in raw_vehicles:
            cap = v.get("capacity") or []
            # A missing capacity dimension means unbounded in it.
            cap = [int(c) for c in cap] + [max(total_amount[k], 1)
                                           for k in range(len(cap), self.dims)]
            veh = {"id": v.get("id", len(self.vehicles)), "start": loc(v.get("start")),
                   "end": loc(v.get("end")), "capacity": cap,
                   "tw": tw(v.get("time_window"))}
            if veh["start"] is None and veh["end"] is None:
                raise ValueError(f"vehicle {veh['id']} has neither start nor end")
            self.vehicles.append(veh)
        self.shipments = []
        for s in raw_shipments:
            step = lambda st: {"loc": loc(st["location"]), "service": int(st.get("service") or 0),
                               "tw": tw(st.get("time_window"))}
            self.shipments.append({"id": s.get("id", len(self.shipments)),
                                   "amount": pad(s.get("amount"), 0),
                                   "pickup": step(s["pickup"]),
                                   "delivery": step(s["delivery"])})


# ---------------------------------------------------------------------------- validation

def evaluate_pdptw(inst, routes):
    """routes: [{"vehicle": index, "stops": [("p"|"d", shipment index), ...]}, ...].

    Returns (cost, unassigned, location routes, vehicle ids, problems)."""
    D = inst.durations
    problems = []
    seen_vehicle = set()
    picked = {}      # shipment -> route number
    delivered = {}
    cost = 0
    loc_routes, vehicle_ids = [], []
    for rn, r in enumerate(routes):
        vi = r["vehicle"]
        if not 0 <= vi < len(inst.vehicles):
            problems.append(f"route {rn}: unknown vehicle index {vi}")
            continue
        veh = inst.vehicles[vi]
        if vi in seen_vehicle:
            problems.append(f"vehicle {veh['id']}: used by more than one route")
        seen_vehicle.add(vi)
        locs = [] if veh["start"] is None else [veh["start"]]
        prev = veh["start"]
        t = veh["tw"][0]
        load = [0] * inst.dims
        for kind, si in r["stops"]:
            if not 0 <= si < len(inst.shipments):
                problems.append(f"vehicle {veh['id']}: unknown shipment index {si}")
                continue
            sh = inst.shipments[si]
            step = sh["pickup"] if kind == "p" else sh["delivery"]
            what = f"shipment {sh['id']} {'pickup' if kind == 'p' else 'delivery'}"
            travel = 0 if prev is None else D[prev][step["loc"]]
            cost += travel
            arrival = max(step["tw"][0], t + travel)
            if arrival > step["tw"][1]:
                problems.append(f"vehicle {veh['id']}: {what} arrives at {arrival}, "
                                f"after its window end {step['tw'][1]}")
            t = arrival + step["service"]
            if kind == "p":
                if si in picked:
                    problems.append(f"{what} served twice")
                picked[si] = rn
                load = [l + a for l, a in zip(load, sh["amount"])]
            else:
                if si in delivered:
                    problems.append(f"{what} served twice")
                delivered[si] = rn
                if picked.get(si) != rn:
                    problems.append(f"vehicle {veh['id']}: {what} without an earlier "
                                    f"pickup in the same route")
                load = [l - a for l, a in zip(load, sh["amount"])]
            for k, (l, c) in enumerate(zip(load, veh["capacity"])):
                if l > c or l < 0:
                    problems.append(f"vehicle {veh['id']}: load {l} in dimension {k} "
                                    f"after {what} (capacity {c})")
            locs.append(step["loc"])
            prev = step["loc"]
        if veh["end"] is not None:
            travel = 0 if prev is None else D[prev][veh["end"]]
            cost += travel
            t += travel
            locs.append(veh["end"])
        if t > veh["tw"][1]:
            problems.append(f"vehicle {veh['id']}: route ends at {t}, after the vehicle's "
                            f"window end {veh['tw'][1]}")
        loc_routes.append(locs)
        vehicle_ids.append(veh["id"])
    unassigned = 0
    for si, sh in enumerate(inst.shipments):
        p, d = si in picked, si in delivered
        if not p and not d:
            unassigned += 1
        elif p != d:
            problems.append(f"shipment {sh['id']}: {'pickup' if p else 'delivery'} served "
                            f"without its {'delivery' if p else 'pickup'}")
    return cost, unassigned, loc_routes, vehicle_ids, problems


def evaluate_tsp(inst, tour):
    """tour: node list, closed ([0, ..., 0]) or not; returns the same tuple as pdptw."""
    D = inst.durations
    problems = []
    tour = list(tour)
    if len(tour) > 1 and tour[0] == tour[-1]:
        tour = tour[:-1]
    if not tour or tour[0] != 0:
        problems.append("tour does not start at node 0")
    counts = {}
    for x in tour:
        counts[x] = counts.get(x, 0) + 1
    for x, c in sorted(counts.items()):
        if not 0 <= x < inst.n:
            problems.append(f"node {x} is outside the matrix")
        elif c > 1:
            problems.append(f"node {x} visited {c} times")
    unassigned = sum(1 for x in range(1, inst.n) if x not in counts)
    if unassigned:
        problems.append(f"{unassigned} nodes not visited")
    closed = tour + tour[:1]
    cost = sum(D[a][b] for a, b in zip(closed, closed[1:])
               if 0 <= a < inst.n and 0 <= b < inst.n)
    return cost, unassigned, [closed], [0], problems


# ------------------------------------------------------------------------------- solvers
# Each solver runs in a forked child and imports its library there. It returns a dict with
# either "routes" (pdptw, evaluate_pdptw's shape) or "tour" (tsp), plus "ms", "solver_cost"
# and any extra fields to pass through to the output line.

def solve_vroom(inst, args):
    import vroom
    from datetime import timedelta

    profile = "car"  # any name; the vehicles below use the same one
    problem = vroom.Input()
    # With no costs matrix and default VehicleCosts (per_hour=3600, per_km=0, fixed=0),
    # VROOM's cost is exactly the travel duration from this matrix.
    problem.set_durations_matrix(profile, inst.durations)
    if inst.kind == "tsp":
        problem.add_vehicle(vroom.Vehicle(0, start=0, end=0, profile=profile))
        for node in range(1, inst.n):
            problem.add_job(vroom.Job(node, location=node))
    else:
        for vi, v in enumerate(inst.vehicles):
            problem.add_vehicle(vroom.Vehicle(
                vi, start=v["start"], end=v["end"], profile=profile,
                capacity=vroom.Amount(v["capacity"]),
                time_window=vroom.TimeWindow(*v["tw"])))
        for si, s in enumerate(inst.shipments):
            step = lambda st: vroom.ShipmentStep(
                si, location=st["loc"], default_service=st["service"],
                time_windows=[vroom.TimeWindow(*st["tw"])])
            problem.add_shipment(step(s["pickup"]), step(s["delivery"]),
                                 amount=vroom.Amount(s["amount"]))
    timeout = (timedelta(milliseconds=args.vroom_timeout_ms)
               if args.vroom_timeout_ms else None)
    t0 = time.perf_counter()
    solution = problem.solve(exploration_level=args.vroom_exploration,
                             nb_threads=args.vroom_threads, timeout=timeout)
    ms = (time.perf_counter() - t0) * 1000.0
    out = solution.to_dict()
    summary = out["summary"]
    result = {"ms": ms, "solver_cost": summary["cost"], "threads": args.vroom_threads,
              "exploration_level": args.vroom_exploration,
              "time_limit_ms": args.vroom_timeout_ms or None,
              "solver_unassigned_tasks": summary["unassigned"],
              "solver_computing_times": summary.get("computing_times")}
    if inst.kind == "tsp":
        tour = [0]
        for r in out["routes"]:
            tour += [st["id"] for st in r["steps"] if st["type"] == "job"]
        result["tour"] = tour + [0]
    else:
        result["routes"] = [
            {"vehicle": r["vehicle"],
             "stops": [("p" if st["type"] == "pickup" else "d", st["id"])
                       for st in r["steps"] if st["type"] in ("pickup", "delivery")]}
            for r in out["routes"]]
    return result


def _ortools_params(args, first_solution):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(args.time_limit_ms)
    return params


def _ortools_status(routing):
    try:
        from ortools.constraint_solver import routing_enums_pb2
        return routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    except Exception:  # enum location differs between OR-Tools versions
        return str(routing.status())


def _register_matrix(routing, manager, matrix):
    """Native transit matrix when the OR-Tools build has it (no Python callback per arc)."""
    if hasattr(routing, "RegisterTransitMatrix"):
        return routing.RegisterTransitMatrix(matrix)
    return routing.RegisterTransitCallback(
        lambda i, j: matrix[manager.IndexToNode(i)][manager.IndexToNode(j)])


def solve_ortools(inst, args):
    from ortools.constraint_solver import pywrapcp

    if inst.kind == "tsp":
        first = args.ortools_first_solution or "PATH_CHEAPEST_ARC"
        manager = pywrapcp.RoutingIndexManager(inst.n, 1, 0)
        routing = pywrapcp.RoutingModel(manager)
        routing.SetArcCostEvaluatorOfAllVehicles(
            _register_matrix(routing, manager, inst.durations))
        params = _ortools_params(args, first)
        t0 = time.perf_counter()
        sol = routing.SolveWithParameters(params)
        ms = (time.perf_counter() - t0) * 1000.0
        result = {"ms": ms, "threads": 1, "time_limit_ms": args.time_limit_ms,
                  "first_solution": first, "metaheuristic": "GUIDED_LOCAL_SEARCH",
                  "status": _ortools_status(routing)}
        if sol is None:
            raise RuntimeError(f"no solution (status {result['status']})")
        tour, idx = [], routing.Start(0)
        while not routing.IsEnd(idx):
            tour.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        result["tour"] = tour + [0]
        result["solver_cost"] = sol.ObjectiveValue()
        return result

    first = args.ortools_first_solution or "PARALLEL_CHEAPEST_INSERTION"
    D = inst.durations
    S, V, K = len(inst.shipments), len(inst.vehicles), inst.dims
    # OR-Tools nodes (not matrix locations): 2s = pickup of shipment s, 2s+1 = its delivery,
    # then per vehicle a start node and an end node. A null start/end is a dummy node with
    # location None: travel to and from it is 0, so an open route costs nothing after its
    # last stop (the "dummy end node" choice).
    loc, service, tws, demand = [], [], [], [[] for _ in range(K)]
    for s in inst.shipments:
        for kind, sign in (("pickup", 1), ("delivery", -1)):
            loc.append(s[kind]["loc"])
            service.append(s[kind]["service"])
            tws.append(s[kind]["tw"])
            for k in range(K):
                demand[k].append(sign * s["amount"][k])
    starts, ends = [], []
    for v in inst.vehicles:
        for key, lst in (("start", starts), ("end", ends)):
            lst.append(len(loc))
            loc.append(v[key])
            service.append(0)
            tws.append(v["tw"])
            for k in range(K):
                demand[k].append(0)
    N = len(loc)
    travel = [[0 if (a is None or b is None) else D[a][b] for b in loc] for a in loc]
    # Time transit from i: service at i, then travel (service at the from-node).
    timing = [[service[i] + travel[i][j] for j in range(N)] for i in range(N)]

    manager = pywrapcp.RoutingIndexManager(N, V, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    travel_cb = _register_matrix(routing, manager, travel)
    routing.SetArcCostEvaluatorOfAllVehicles(travel_cb)  # arc cost = travel only

    time_cb = _register_matrix(routing, manager, timing)
    horizon = max(inst.horizon, max(b for _, b in tws))
    # slack = waiting, up to the horizon; cumul = service start time (arrival after waiting)
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for node in range(2 * S):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(*tws[node])
    for vi, v in enumerate(inst.vehicles):
        time_dim.CumulVar(routing.Start(vi)).SetRange(*v["tw"])
        time_dim.CumulVar(routing.End(vi)).SetRange(*v["tw"])

    for k in range(K):
        if hasattr(routing, "RegisterUnaryTransitVector"):
            cb = routing.RegisterUnaryTransitVector(demand[k])
        else:
            cb = routing.RegisterUnaryTransitCallback(
                lambda i, k=k: demand[k][manager.IndexToNode(i)])
        routing.AddDimensionWithVehicleCapacity(
            cb, 0, [v["capacity"][k] for v in inst.vehicles], True, f"Capacity{k}")

    # Dropping a pair must never pay: the penalty per node exceeds any route's whole cost.
    max_d = max((max(row) for row in D), default=0)
    penalty = (N + 1) * max(max_d, 1) + 1
    for s in range(S):
        p, d = manager.NodeToIndex(2 * s), manager.NodeToIndex(2 * s + 1)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
        routing.AddDisjunction([p], penalty)
        routing.AddDisjunction([d], penalty)
        solver.Add(routing.ActiveVar(p) == routing.ActiveVar(d))

    params = _ortools_params(args, first)
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    ms = (time.perf_counter() - t0) * 1000.0
    result = {"ms": ms, "threads": 1, "time_limit_ms": args.time_limit_ms,
              "first_solution": first, "metaheuristic": "GUIDED_LOCAL_SEARCH",
              "drop_penalty_per_node": penalty, "status": _ortools_status(routing)}
    if sol is None:
        raise RuntimeError(f"no solution (status {result['status']})")
    dropped = sum(1 for node in range(2 * S)
                  if sol.Value(routing.NextVar(manager.NodeToIndex(node)))
                  == manager.NodeToIndex(node))
    result["solver_drop_penalty"] = dropped * penalty
    routes = []
    for vi in range(V):
        stops, idx = [], sol.Value(routing.NextVar(routing.Start(vi)))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            stops.append(("p" if node % 2 == 0 else "d", node // 2))
            idx = sol.Value(routing.NextVar(idx))
        if stops:
            routes.append({"vehicle": vi, "stops": stops})
    result["routes"] = routes
    result["solver_cost"] = sol.ObjectiveValue()
    return result


def solve_elkai(inst, args):
    import elkai

    if inst.kind != "tsp":
        raise ValueError("elkai solves only tsp instances")
    if inst.n < 3:
        raise ValueError("elkai needs at least 3 nodes")
    # LKH reads the matrix as text; elkai writes each entry with str(), so ints are what it
    # gets (durations are ints already). It picks ATSP itself when the matrix is asymmetric.
    matrix = elkai.DistanceMatrix([list(map(int, row)) for row in inst.durations])
    t0 = time.perf_counter()
    tour = matrix.solve_tsp(runs=args.elkai_runs)
    ms = (time.perf_counter() - t0) * 1000.0
    if tour and tour[0] == tour[-1]:
        tour = tour[:-1]
    if 0 in tour:  # rotate so the tour starts at node 0
        z = tour.index(0)
        tour = tour[z:] + tour[:z]
    return {"ms": ms, "solver_cost": None, "tour": tour + [0], "threads": 1,
            "runs": args.elkai_runs, "time_limit_ms": None}


VRP_CORE_BUILD = ("CARGO_TARGET_DIR=$HOME/.cache/ruta/peer-target cargo build --release "
                  "--manifest-path scripts/bench/vrp-core-peer/Cargo.toml")


def vrp_core_binary():
    return (os.environ.get("RUTA_VRP_CORE_PEER")
            or os.path.expanduser("~/.cache/ruta/peer-target/release/vrp-core-peer"))


def solve_vrp_core(inst, args):
    """Runs the vrp-core-peer binary (scripts/bench/vrp-core-peer) on the instance file.

    The binary prints one JSON line with its own check; only its routes (vehicle index plus
    ("p"|"d", shipment index) stops), solve time and reported cost are used here, so the
    validation and the cost come from this file like for the other solvers."""
    import subprocess

    if inst.kind != "pdptw":
        raise ValueError("vrp-core-peer solves only pdptw instances")
    binary = vrp_core_binary()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise FileNotFoundError(f"vrp-core peer binary not found at {binary}; build it with "
                                f"`{VRP_CORE_BUILD}` (or point RUTA_VRP_CORE_PEER at it)")
    cmd = [binary, os.path.abspath(args.instance), "--time-limit-ms", str(args.time_limit_ms),
           "--threads", str(args.vrp_core_threads)]
    if args.vrp_core_minimize_tours:
        cmd.append("--minimize-tours")
    # Stay below --kill-after-s so a hung binary is killed here, not orphaned by the parent.
    timeout = max(0.1, args.kill_after_s - 0.5)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"vrp-core-peer did not finish within {timeout:g} s; killed")
    lines = [ln for ln in proc.stdout.decode(errors="replace").splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"vrp-core-peer printed nothing (exit code {proc.returncode})")
    out = json.loads(lines[-1])
    if "error" in out:
        raise RuntimeError(f"vrp-core-peer: {out['error']}")
    return {"ms": out["ms"], "solver_cost": out["solver_cost"],
            "routes": [{"vehicle": r["vehicle"], "stops": [(k, si) for k, si in r["stops"]]}
                       for r in out["vehicle_routes"]],
            "threads": out.get("threads"), "time_limit_ms": out.get("time_limit_ms"),
            "generations": out.get("generations"),
            "solver_unassigned": out.get("solver_unassigned"),
            "setup_ms": out.get("setup_ms"), "goal": out.get("goal"),
            "vrp_core_version": out.get("vrp_core_version")}


SOLVERS = {"vroom": solve_vroom, "ortools": solve_ortools, "elkai": solve_elkai,
           "vrp-core": solve_vrp_core}


# -------------------------------------------------------------------------------- driver

def _child(fn, inst, args, conn):
    try:
        res = fn(inst, args)
    except BaseException as e:  # noqa: BLE001 - report anything as an error line
        res = {"error": f"{type(e).__name__}: {e}",
               "traceback": traceback.format_exc(limit=5)}
    try:
        conn.send(res)
        conn.close()
    finally:
        os._exit(0)


def run_solver(fn, inst, args):
    if args.no_isolate:
        try:
            return fn(inst, args)
        except Exception as e:  # noqa: BLE001
            return {"error": f"{type(e).__name__}: {e}"}
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, inst, args, send), daemon=True)
    proc.start()
    send.close()
    res = None
    if recv.poll(args.kill_after_s):
        try:
            res = recv.recv()
        except EOFError:
            res = None
    else:
        proc.kill()
        res = {"error": f"no result within --kill-after-s {args.kill_after_s}; killed"}
    proc.join()
    if res is None:
        res = {"error": f"solver process died (exit code {proc.exitcode})"}
    return res


def result_line(name, inst, res):
    if "error" in res:
        line = {"solver": name, "instance": inst.name, "error": res["error"]}
        if res.get("traceback"):
            print(res["traceback"], file=sys.stderr)
        return line
    if inst.kind == "tsp":
        cost, unassigned, routes, vehicle_ids, problems = evaluate_tsp(inst, res.pop("tour"))
    else:
        cost, unassigned, routes, vehicle_ids, problems = evaluate_pdptw(inst, res.pop("routes"))
    if len(problems) > MAX_PROBLEMS:
        problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more"]
    line = {"solver": name, "instance": inst.name, "cost": cost,
            "solver_cost": res.pop("solver_cost"), "unassigned": unassigned,
            "ms": round(res.pop("ms"), 3), "routes": routes,
            "valid": not problems, "problems": problems,
            "route_vehicles": vehicle_ids}
    if line["solver_cost"] is not None:
        # OR-Tools' objective includes the penalties of dropped stops; compare travel only.
        line["cost_matches_solver"] = (
            line["solver_cost"] - res.get("solver_drop_penalty", 0) == cost)
    line.update(res)
    return line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("--time-limit-ms", type=int, default=1000,
                    help="OR-Tools' and vrp-core's search time limit (default 1000)")
    ap.add_argument("--solvers", default=None,
                    help="comma list; default vroom,ortools for pdptw, "
                         "vroom,ortools,elkai for tsp; vrp-core (pdptw) only when listed")
    ap.add_argument("--vroom-threads", type=int, default=1)
    ap.add_argument("--vroom-exploration", type=int, default=5)
    ap.add_argument("--vroom-timeout-ms", type=int, default=0,
                    help="VROOM timeout; 0 (default) = none, VROOM runs to completion")
    ap.add_argument("--vrp-core-threads", type=int, default=1,
                    help="vrp-core-peer --threads: rayon pool and vrp-core CPU count "
                         "(default 1; 0 = library defaults, all cores)")
    ap.add_argument("--vrp-core-minimize-tours", action="store_true",
                    help="vrp-core goal unassigned > tours > travel time (vrp's own default "
                         "order) instead of unassigned > travel time")
    ap.add_argument("--elkai-runs", type=int, default=10,
                    help="LKH RUNS (elkai's default 10); elkai has no time limit")
    ap.add_argument("--ortools-first-solution", default=None,
                    help="FirstSolutionStrategy name; default PARALLEL_CHEAPEST_INSERTION "
                         "for pdptw, PATH_CHEAPEST_ARC for tsp")
    ap.add_argument("--kill-after-s", type=float, default=600.0,
                    help="kill a solver that has not answered after this long")
    ap.add_argument("--no-isolate", action="store_true",
                    help="run solvers in this process (debugging; a crash ends the run)")
    args = ap.parse_args(argv)

    # Our JSON lines go to the real stdout; file descriptor 1 is pointed at stderr so any
    # native library chatter (LKH, OR-Tools, VROOM) cannot corrupt the output.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    try:
        with open(args.instance) as f:
            raw = json.load(f)
        stem = os.path.splitext(os.path.basename(args.instance))[0]
        inst = Instance(raw, stem)
    except Exception as e:  # noqa: BLE001
        print(f"peers.py: cannot read instance {args.instance}: {e}", file=sys.stderr)
        return 2

    names = (args.solvers.split(",") if args.solvers
             else ["vroom", "ortools"] + (["elkai"] if inst.kind == "tsp" else []))
    for name in (n.strip() for n in names if n.strip()):
        if name not in SOLVERS:
            line = {"solver": name, "instance": inst.name,
                    "error": f"unknown solver (known: {', '.join(SOLVERS)})"}
        else:
            try:
                line = result_line(name, inst, run_solver(SOLVERS[name], inst, args))
            except Exception as e:  # noqa: BLE001 - validation must not end the run
                line = {"solver": name, "instance": inst.name,
                        "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
