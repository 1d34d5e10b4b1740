//! The `ruta route solve --tsplib` command on real TSPLIB files (Debian's
//! glpk-utils, installed by scripts/setup.sh) and on broken ones.

use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = "/usr/share/doc/glpk-utils/examples/tsp";

fn ruta() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ruta"))
}

fn instance(name: &str) -> PathBuf {
    let p = Path::new(DIR).join(format!("{name}.tsp"));
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/setup.sh` (installs glpk-utils)",
        p.display()
    );
    p
}

fn solve(args: &[&str]) -> serde_json::Value {
    let out = ruta().args(["route", "solve"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ruta failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Length of a closed tour of 1-based ids, from the weights the parser read.
fn length(path: &Path, tour: &[u64]) -> u64 {
    let inst = ruta_routing::tsplib::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let t: Vec<usize> = tour.iter().map(|&c| c as usize - 1).collect();
    inst.tour_length(&t)
}

#[test]
fn proven_optima_are_reached_with_a_fixed_iteration_budget() {
    // Iteration budgets make the run identical on every machine; the time it
    // takes is measured in the routing benchmark, not here.
    for (name, optimum, n) in [
        ("ulysses16", 6859, 16),
        ("ulysses22", 7013, 22),
        ("dantzig42", 699, 42),
        ("gr120", 6942, 120),
    ] {
        let path = instance(name);
        let v = solve(&[
            "--tsplib",
            path.to_str().unwrap(),
            "--iterations",
            "3000",
            "--time-limit-ms",
            "60000",
            "--seed",
            "1",
        ]);
        let tour: Vec<u64> = v["tour"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        let mut sorted = tour.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (1..=n).collect::<Vec<u64>>(),
            "{name}: not a permutation"
        );
        assert_eq!(tour[0], 1);
        assert_eq!(v["length"], optimum, "{name}");
        assert_eq!(
            length(&path, &tour),
            optimum,
            "{name}: reported length is the tour's"
        );
        assert!(v["ms"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn same_seed_same_tour() {
    let path = instance("gr120");
    let args = [
        "--tsplib",
        path.to_str().unwrap(),
        "--iterations",
        "500",
        "--seed",
        "9",
    ];
    let a = solve(&args);
    let b = solve(&args);
    assert_eq!(a["tour"], b["tour"]);
    assert_eq!(a["length"], b["length"]);
}

#[test]
fn bad_files_get_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 oops 1\n3 2 2\nEOF\n",
            "line 7",
        ),
        ("NAME: x\nTYPE: ATSP\n", "line 2"),
        ("NAME: x\nDIMENSION: 3\n", "no EDGE_WEIGHT_TYPE"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.tsp"));
        std::fs::write(&path, text).unwrap();
        let out = ruta()
            .args(["route", "solve", "--tsplib", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
        assert!(
            err.contains(&format!("bad{i}.tsp")),
            "names the file: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    // Not text at all.
    let path = dir.path().join("binary.tsp");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let out = ruta()
        .args(["route", "solve", "--tsplib", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    // Missing file.
    let out = ruta()
        .args(["route", "solve", "--tsplib", "/nonexistent/x.tsp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
