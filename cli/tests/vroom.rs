//! `ruta route solve --vroom`: VROOM's problem JSON in, VROOM's solution JSON out.

use std::io::Write;
use std::process::{Command, Stdio};

fn ruta_vroom(arg: &str, stdin: &str) -> (i32, serde_json::Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruta"))
        .args([
            "route",
            "solve",
            "--vroom",
            arg,
            "--iterations",
            "200",
            "--seed",
            "3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PROBLEM: &str = r#"{
  "vehicles": [{"id": 0, "start_index": 0, "end_index": 0, "capacity": [4]}],
  "jobs": [
    {"id": 1, "location_index": 1, "delivery": [1], "time_windows": [[0, 1000]]},
    {"id": 2, "location_index": 2, "delivery": [1], "service": 120}
  ],
  "shipments": [{"amount": [2], "pickup": {"id": 3, "location_index": 2}, "delivery": {"id": 3, "location_index": 1}}],
  "matrices": {"car": {"durations": [[0, 300, 500], [300, 0, 250], [500, 250, 0]]}}
}"#;

#[test]
fn a_problem_on_stdin_gets_a_vroom_solution_on_stdout() {
    let (code, out, _) = ruta_vroom("-", PROBLEM);
    assert_eq!(code, 0);
    assert_eq!(out["code"], 0);
    assert_eq!(out["summary"]["unassigned"], 0);
    let steps = out["routes"][0]["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"end"));
    assert_eq!(kinds.len(), 6);
    // The cost is the travel along the steps' indices.
    let m = [[0, 300, 500], [300, 0, 250], [500, 250, 0]];
    let idx: Vec<usize> = steps
        .iter()
        .map(|s| s["location_index"].as_u64().unwrap() as usize)
        .collect();
    let travel: i64 = idx.windows(2).map(|w| m[w[0]][w[1]]).sum();
    assert_eq!(out["summary"]["cost"], travel);
    assert!(
        out["summary"].get("distance").is_none(),
        "no distances were given"
    );
}

#[test]
fn the_same_problem_from_a_file_gives_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("problem.json");
    std::fs::write(&path, PROBLEM).unwrap();
    let (code, from_file, _) = ruta_vroom(path.to_str().unwrap(), "");
    let (_, from_stdin, _) = ruta_vroom("-", PROBLEM);
    assert_eq!(code, 0);
    assert_eq!(from_file["routes"], from_stdin["routes"]);
}

#[test]
fn a_bad_field_is_named_by_its_json_pointer() {
    let bad = PROBLEM.replace(
        r#""location_index": 2, "delivery": [1]"#,
        r#""location": [1], "delivery": [1]"#,
    );
    let (code, out, err) = ruta_vroom("-", &bad);
    assert_eq!(code, 2);
    assert_eq!(out["code"], 2);
    let msg = out["error"].as_str().unwrap();
    assert_eq!(msg, "/jobs/1/location: expected [lon, lat]");
    assert!(err.contains("/jobs/1/location"), "{err}");
}
