//! VROOM interface tests: problems in, VROOM solutions out, errors named by
//! JSON pointer, and VROOM's own examples.

use super::*;
use serde_json::json;

fn solve(input: Value) -> Value {
    let p = parse(&input.to_string()).expect("parses");
    serde_json::to_value(p.solve(1, Budget::iterations(300), 0)).unwrap()
}

fn error(input: Value) -> String {
    parse(&input.to_string()).expect_err("refused").to_string()
}

/// A line of points 0..n on a 100-second grid: durations |i - j| * 100.
fn line(n: usize) -> Value {
    let rows: Vec<Vec<u64>> = (0..n)
        .map(|i| (0..n).map(|j| (i.abs_diff(j) * 100) as u64).collect())
        .collect();
    let dist: Vec<Vec<u64>> = rows
        .iter()
        .map(|r| r.iter().map(|d| d * 10).collect())
        .collect();
    json!({"car": {"durations": rows, "distances": dist}})
}

fn ids(route: &Value) -> Vec<(String, u64)> {
    route["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"].is_u64())
        .map(|s| {
            (
                s["type"].as_str().unwrap().to_string(),
                s["id"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_custom_matrix_problem_round_trips_in_vroom_terms() {
    let out = solve(json!({
        "vehicles": [{"id": 7, "start_index": 0, "end_index": 0, "description": "van"}],
        "jobs": [
            {"id": 30, "location_index": 3, "service": 10},
            {"id": 10, "location_index": 1},
            {"id": 20, "location_index": 2, "description": "shop"},
        ],
        "matrices": line(4),
    }));
    assert_eq!(out["code"], 0);
    assert_eq!(out["summary"]["unassigned"], 0);
    assert_eq!(out["summary"]["routes"], 1);
    let route = &out["routes"][0];
    assert_eq!(route["vehicle"], 7);
    assert_eq!(route["description"], "van");
    let steps = route["steps"].as_array().unwrap();
    assert_eq!(steps.first().unwrap()["type"], "start");
    assert_eq!(steps.last().unwrap()["type"], "end");
    // Out along the line and back: 600 s, 6000 m, either direction.
    assert_eq!(route["cost"], 600);
    assert_eq!(out["summary"]["cost"], 600);
    assert_eq!(out["summary"]["distance"], 6000);
    assert_eq!(out["summary"]["service"], 10);
    let mut visited: Vec<u64> = ids(route).iter().map(|(_, id)| *id).collect();
    visited.sort_unstable();
    assert_eq!(visited, vec![10, 20, 30]);
    assert!(steps.iter().any(|s| s["description"] == "shop"));
    // Arrivals follow the matrix: each leg's travel plus the service before it.
    for w in steps.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ia, ib) = (
            a["location_index"].as_u64().unwrap(),
            b["location_index"].as_u64().unwrap(),
        );
        let leg = ia.abs_diff(ib) as i64 * 100;
        let ready = a["arrival"].as_i64().unwrap()
            + a["waiting_time"].as_i64().unwrap()
            + a["service"].as_i64().unwrap();
        assert_eq!(b["arrival"].as_i64().unwrap(), ready + leg);
        assert_eq!(
            b["duration"].as_i64().unwrap(),
            a["duration"].as_i64().unwrap() + leg
        );
    }
}

#[test]
fn time_windows_are_respected_in_the_output() {
    // Two far ends with windows that force the order 4 -> 1 -> 3 and waiting.
    let out = solve(json!({
        "vehicles": [{"id": 1, "start_index": 0, "time_window": [0, 5000]}],
        "jobs": [
            {"id": 1, "location_index": 1, "service": 60, "time_windows": [[1000, 1200]]},
            {"id": 3, "location_index": 3, "time_windows": [[2000, 2100]]},
            {"id": 4, "location_index": 4, "service": 30, "time_windows": [[0, 500]]},
        ],
        "matrices": line(5),
    }));
    assert_eq!(out["summary"]["unassigned"], 0, "{out}");
    let route = &out["routes"][0];
    let order: Vec<u64> = ids(route).iter().map(|(_, id)| *id).collect();
    assert_eq!(order, vec![4, 1, 3]);
    let windows = [(1, (1000, 1200)), (3, (2000, 2100)), (4, (0, 500))];
    let mut waited = 0;
    for s in route["steps"].as_array().unwrap() {
        let Some(id) = s["id"].as_u64() else { continue };
        let (_, (a, b)) = windows.iter().find(|(i, _)| *i == id).unwrap();
        let start = s["arrival"].as_i64().unwrap() + s["waiting_time"].as_i64().unwrap();
        assert!((*a..=*b).contains(&start), "job {id} starts at {start}");
        waited += s["waiting_time"].as_i64().unwrap();
    }
    assert!(waited > 0);
    assert_eq!(out["summary"]["waiting_time"], waited);
    // No end given: the route stops at its last task.
    assert_eq!(
        route["steps"].as_array().unwrap().last().unwrap()["type"],
        "job"
    );
}

#[test]
fn shipments_are_picked_up_before_delivery_and_load_follows() {
    let out = solve(json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [1]}],
        "shipments": [
            {"amount": [1], "pickup": {"id": 1, "location_index": 3}, "delivery": {"id": 1, "location_index": 1}},
            {"amount": [1], "pickup": {"id": 2, "location_index": 2}, "delivery": {"id": 2, "location_index": 4}},
        ],
        "matrices": line(5),
    }));
    assert_eq!(out["summary"]["unassigned"], 0, "{out}");
    let route = &out["routes"][0];
    let steps = ids(route);
    for id in [1, 2] {
        let p = steps
            .iter()
            .position(|s| *s == ("pickup".into(), id))
            .unwrap();
        let d = steps
            .iter()
            .position(|s| *s == ("delivery".into(), id))
            .unwrap();
        assert!(p < d);
    }
    // Capacity 1: the load never exceeds it and is back to 0 at the end.
    for s in route["steps"].as_array().unwrap() {
        assert!(s["load"][0].as_i64().unwrap() <= 1);
    }
    assert_eq!(
        route["steps"].as_array().unwrap().last().unwrap()["load"],
        json!([0])
    );
    assert_eq!(out["summary"]["pickup"], json!([2]));
}

#[test]
fn coordinates_are_timed_by_straight_line_and_echoed() {
    let out = solve(json!({
        "vehicles": [{"id": 1, "start": [24.94, 60.17], "end": [24.94, 60.17]}],
        "jobs": [
            {"id": 1, "location": [24.95, 60.17], "delivery": [2], "priority": 5},
            {"id": 2, "location": [24.94, 60.18], "pickup": [1]},
        ],
    }));
    let route = &out["routes"][0];
    assert_eq!(route["steps"][0]["location"], json!([24.94, 60.17]));
    assert!(route["cost"].as_i64().unwrap() > 0);
    assert!(route["distance"].as_i64().unwrap() > 1000);
    // Deliveries are on board at the start.
    assert_eq!(route["steps"][0]["load"], json!([2]));
    assert_eq!(out["summary"]["priority"], 5);
}

#[test]
fn a_vehicle_without_a_start_begins_at_its_first_task() {
    let out = solve(json!({
        "vehicles": [{"id": 1, "end_index": 0}],
        "jobs": [{"id": 1, "location_index": 2}, {"id": 2, "location_index": 3}],
        "matrices": line(4),
    }));
    let route = &out["routes"][0];
    // 3 -> 2 -> 0: the first leg is free.
    assert_eq!(route["cost"], 300);
    assert_eq!(route["steps"][0]["location_index"], 3);
}

#[test]
fn unassigned_tasks_come_with_a_reason() {
    let out = solve(json!({
        "vehicles": [{"id": 1, "start_index": 0, "capacity": [5], "skills": [1], "time_window": [0, 1000]}],
        "jobs": [
            {"id": 1, "location_index": 1, "skills": [2]},
            {"id": 2, "location_index": 1, "delivery": [9]},
            {"id": 3, "location_index": 3, "time_windows": [[0, 100]]},
            {"id": 4, "location_index": 1, "skills": [1]},
        ],
        "shipments": [{"pickup": {"id": 5, "location_index": 1, "time_windows": [[0, 10]]}, "delivery": {"id": 5, "location_index": 2}}],
        "matrices": line(4),
    }));
    let reasons: Vec<(u64, String, String)> = out["unassigned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_u64().unwrap(),
                u["type"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, "job".into(), "skills".into()),
            (2, "job".into(), "capacity".into()),
            (3, "job".into(), "time_window".into()),
            (5, "pickup".into(), "time_window".into()),
            (5, "delivery".into(), "time_window".into()),
        ]
    );
    assert_eq!(out["summary"]["unassigned"], 5);
    assert_eq!(ids(&out["routes"][0]), vec![("job".into(), 4)]);
}

#[test]
fn errors_name_the_field_with_a_json_pointer() {
    let m = line(3);
    let v = json!([{"id": 1, "start_index": 0}]);
    let cases = [
        (
            json!({"vehicles": [{"id": 1, "start": [24.9, 60.1]}], "jobs": [{"id": 1}, {"id": 2, "location": [1.0]}]}),
            "/jobs/0/location: expected [lon, lat]",
        ),
        (
            json!({"vehicles": [{"id": 1, "start": [24.9, 60.1]}], "jobs": [{"id": 1, "location": [1.0, 2.0]}, {"id": 2, "location": "x"}]}),
            "/jobs/1/location: expected [lon, lat]",
        ),
        (
            json!({"vehicles": v, "jobs": [{"id": 1, "location_index": 5}], "matrices": m}),
            "/jobs/0/location_index: 5 is outside the 3 x 3 matrix",
        ),
        (
            json!({"vehicles": v, "jobs": [{"id": 1, "location_index": 1, "time_windows": [[10, 5]]}], "matrices": m}),
            "/jobs/0/time_windows/0: window ends before it starts",
        ),
        (
            json!({"vehicles": v, "jobs": [{"location_index": 1}], "matrices": m}),
            "/jobs/0/id: required",
        ),
        (
            json!({"vehicles": v, "jobs": [{"id": 1, "location_index": 1}, {"id": 1, "location_index": 2}], "matrices": m}),
            "/jobs/1/id: duplicate job id 1",
        ),
        (
            json!({"vehicles": [{"id": 1, "start_index": 0, "breaks": [{"id": 1}]}], "matrices": m}),
            "/vehicles/0/breaks: not supported by this solver",
        ),
        (
            json!({"vehicles": v, "shipments": [{"pickup": {"id": 1, "location_index": 1}}], "matrices": m}),
            "/shipments/0/delivery: required",
        ),
        (
            json!({"vehicles": v, "jobs": [], "matrices": {"car": {"durations": [[0, 1], [1]]}}}),
            "/matrices/car/durations/1: expected a row of 2 integers",
        ),
        (
            json!({"vehicles": [{"id": 1, "profile": "bike", "start_index": 0}], "matrices": m}),
            "/matrices: no matrices for profile \"bike\"",
        ),
        (
            json!({"vehicles": [{"id": 1}], "matrices": m}),
            "/vehicles/0: a vehicle needs a start, an end or both",
        ),
        (
            json!({"vehicles": v, "jobs": [{"id": 1, "location_index": 1, "delivery": [1, 2, 3]}], "matrices": m}),
            "/jobs/0/delivery: 3 dimensions; at most 2 are supported",
        ),
        (
            json!({"jobs": []}),
            "/vehicles: at least one vehicle is required",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(error(input), want);
    }
    assert!(
        parse("{")
            .unwrap_err()
            .to_string()
            .starts_with(": not JSON")
    );
    assert_eq!(
        error_output(&parse("[]").unwrap_err()),
        json!({"code": 2, "error": ": expected an object"})
    );
}
