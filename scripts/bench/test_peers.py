#!/usr/bin/env python3
"""Self-tests for peers.py's own checks and crash isolation. Standard library only, so it
runs with any python3 (no solver venv needed):  python3 scripts/bench/test_peers.py
"""

import os
import signal
import sys
import time
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

# Locations 0 (depot), 1, 2, 3. Asymmetric on purpose: 1->2 is 10, 2->1 is 50.
D = [
    [0, 10, 20, 30],
    [10, 0, 10, 20],
    [20, 50, 0, 10],
    [30, 20, 10, 0],
]


def instance(vehicle_tw=(0, 1000), end=0, capacity=(1,), ship_tws=None):
    ship_tws = ship_tws or {}
    shipments = []
    for sid, (p, d) in enumerate([(1, 2), (3, 1)]):
        shipments.append({
            "id": 100 + sid, "amount": [1],
            "pickup": {"location": p, "service": 5,
                       "time_window": ship_tws.get((sid, "p"), [0, 1000])},
            "delivery": {"location": d, "service": 5,
                         "time_window": ship_tws.get((sid, "d"), [0, 1000])},
        })
    raw = {"name": "t", "kind": "pdptw", "durations": D,
           "vehicles": [{"id": 7, "start": 0, "end": end, "capacity": list(capacity),
                         "time_window": list(vehicle_tw)},
                        {"id": 8, "start": 0, "end": 0, "capacity": list(capacity),
                         "time_window": list(vehicle_tw)}],
           "shipments": shipments}
    return peers.Instance(raw, "t")


GOOD = [{"vehicle": 0, "stops": [("p", 0), ("d", 0), ("p", 1), ("d", 1)]}]
# 0 ->1 (10) ->2 (10) ->3 (10) ->1 (20) ->0 (10) = 60


class Validate(unittest.TestCase):
    def check(self, inst, routes):
        return peers.evaluate_pdptw(inst, routes)

    def test_good_route(self):
        cost, unassigned, locs, vids, problems = self.check(instance(), GOOD)
        self.assertEqual(problems, [])
        self.assertEqual((cost, unassigned, locs, vids), (60, 0, [[0, 1, 2, 3, 1, 0]], [7]))

    def test_open_route_has_no_return_leg(self):
        cost, _, locs, _, problems = self.check(instance(end=None), GOOD)
        self.assertEqual((cost, locs, problems), (50, [[0, 1, 2, 3, 1]], []))

    def test_unassigned_counts_shipments(self):
        cost, unassigned, _, _, problems = self.check(
            instance(), [{"vehicle": 0, "stops": [("p", 1), ("d", 1)]}])
        self.assertEqual((cost, unassigned, problems), (30 + 20 + 10, 1, []))

    def test_delivery_before_pickup(self):
        routes = [{"vehicle": 0, "stops": [("d", 0), ("p", 0), ("p", 1), ("d", 1)]}]
        problems = self.check(instance(capacity=(5,)), routes)[4]
        self.assertTrue(any("without an earlier pickup" in p for p in problems), problems)

    def test_split_across_routes(self):
        routes = [{"vehicle": 0, "stops": [("p", 0), ("p", 1), ("d", 1)]},
                  {"vehicle": 1, "stops": [("d", 0)]}]
        problems = self.check(instance(capacity=(5,)), routes)[4]
        self.assertTrue(any("same route" in p for p in problems), problems)

    def test_capacity(self):
        routes = [{"vehicle": 0, "stops": [("p", 0), ("p", 1), ("d", 0), ("d", 1)]}]
        problems = self.check(instance(capacity=(1,)), routes)[4]
        self.assertTrue(any("load 2" in p for p in problems), problems)
        self.assertEqual(self.check(instance(capacity=(2,)), routes)[4], [])

    def test_waiting_is_allowed(self):
        # Pickup 0 opens at 100: arrive 10, wait, serve 100..105, delivery at 115 <= 120.
        inst = instance(ship_tws={(0, "p"): [100, 200], (0, "d"): [0, 120]})
        self.assertEqual(self.check(inst, GOOD)[4], [])
        inst = instance(ship_tws={(0, "p"): [100, 200], (0, "d"): [0, 114]})
        problems = self.check(inst, GOOD)[4]
        self.assertEqual(len(problems), 1)
        self.assertIn("arrives at 115", problems[0])

    def test_vehicle_end(self):
        # Service 4*5 = 20 plus travel 60: back at the depot at 80.
        self.assertEqual(self.check(instance(vehicle_tw=(0, 80)), GOOD)[4], [])
        problems = self.check(instance(vehicle_tw=(0, 79)), GOOD)[4]
        self.assertEqual(len(problems), 1)
        self.assertIn("route ends at 80", problems[0])
        # Open route: ends when the last service is done, 50 + 20 = 70.
        self.assertEqual(self.check(instance(vehicle_tw=(0, 70), end=None), GOOD)[4], [])
        self.assertTrue(self.check(instance(vehicle_tw=(0, 69), end=None), GOOD)[4])

    def test_served_twice(self):
        routes = [{"vehicle": 0, "stops": [("p", 0), ("d", 0)]},
                  {"vehicle": 1, "stops": [("p", 0), ("d", 0), ("p", 1), ("d", 1)]}]
        problems = self.check(instance(), routes)[4]
        self.assertTrue(any("served twice" in p for p in problems), problems)

    def test_tsp(self):
        inst = peers.Instance({"kind": "tsp", "durations": D}, "x")
        cost, unassigned, locs, _, problems = peers.evaluate_tsp(inst, [0, 1, 2, 3, 0])
        self.assertEqual((cost, unassigned, locs, problems), (60, 0, [[0, 1, 2, 3, 0]], []))
        cost = peers.evaluate_tsp(inst, [0, 3, 2, 1])[0]  # reverse direction differs
        self.assertEqual(cost, 30 + 10 + 50 + 10)
        _, unassigned, _, _, problems = peers.evaluate_tsp(inst, [0, 1, 1, 0])
        self.assertEqual(unassigned, 2)
        self.assertTrue(any("visited 2 times" in p for p in problems), problems)


def _segfault(inst, args):
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise(inst, args):
    raise RuntimeError("boom")


def _sleep(inst, args):
    time.sleep(30)


class Isolation(unittest.TestCase):
    args = types.SimpleNamespace(no_isolate=False, kill_after_s=1.0)

    def test_crash_becomes_error(self):
        res = peers.run_solver(_segfault, None, self.args)
        self.assertIn("died", res["error"])

    def test_exception_becomes_error(self):
        res = peers.run_solver(_raise, None, self.args)
        self.assertEqual(res["error"], "RuntimeError: boom")

    def test_hang_is_killed(self):
        t0 = time.monotonic()
        res = peers.run_solver(_sleep, None, self.args)
        self.assertIn("killed", res["error"])
        self.assertLess(time.monotonic() - t0, 10)


if __name__ == "__main__":
    unittest.main()
