//! Architecture invariants, checked from `cargo metadata` and the source tree.
//!
//! - app-api depends on serde only.
//! - app-core knows nothing of tauri, leptos or axum.
//! - app-ui (on wasm32) never pulls rusqlite, tokio or app-core.
//! - Shells are thin: the Tauri shell and the device host reach SQLite only
//!   through app-core, and the servers never pull UI or shell crates.
//! - The pure crates stay pure: ruta-domain, ruta-model, ruta-routing, ruta-geocode, ruta-pod and
//!   ruta-documents pull no storage, runtime or network crate, and none of them
//!   pulls another's heavy dependencies (the model no PDF, image or OSM crate).
//! - The sync server is built from the model and sync-storage, never from app-core,
//!   so it compiles no PDF, image or OSM code; the `ruta` CLI is built from the
//!   routing crate and compiles no SQLite or sync engine.
//! - Every Rust source file starts with a `//!` doc comment saying what it is.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use ruta_e2e::workspace_root;
use serde_json::Value;

/// A rule: `krate`'s (direct or transitive) normal dependencies must not match `forbidden`.
struct Rule {
    krate: &'static str,
    transitive: bool,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const UI_AND_SHELL: &[&str] = &["tauri", "tauri-*", "wry", "tao", "leptos", "leptos_*"];

/// Storage, async runtime, sync engine and network crates: effects, not rules.
const EFFECTS: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "tokio",
    "mio",
    "samod",
    "axum",
    "axum-*",
    "reqwest",
    "hyper",
    "tokio-tungstenite",
];

/// What only documents, proof of delivery and routing need.
const DOCUMENTS_POD_ROUTING: &[&str] = &[
    "krilla",
    "typst-assets",
    "skrifa",
    "image",
    "rqrr",
    "qrcode",
    "tiny-skia",
    "osmpbf",
    "ruta-documents",
    "ruta-geocode",
    "ruta-pod",
    "ruta-routing",
];

const HOST_RULES: &[Rule] = &[
    Rule {
        krate: "app-core",
        transitive: true,
        forbidden: &[
            "tauri", "tauri-*", "wry", "tao", "leptos", "leptos_*", "axum", "axum-*",
        ],
        why: "app-core knows nothing of tauri, leptos or axum",
    },
    Rule {
        krate: "ruta-app",
        transitive: false,
        forbidden: &["rusqlite", "axum"],
        why: "the Tauri shell is thin: it reaches the store only through app-core",
    },
    Rule {
        krate: "device-host",
        transitive: false,
        forbidden: &["rusqlite"],
        why: "the device host is thin: it reaches the store only through app-core",
    },
    Rule {
        krate: "sync-server",
        transitive: true,
        forbidden: UI_AND_SHELL,
        why: "the server pulls no UI or shell crates",
    },
    Rule {
        krate: "sync-server",
        transitive: true,
        forbidden: &[
            "app-core",
            "krilla",
            "image",
            "osmpbf",
            "rqrr",
            "typst-assets",
            "ruta-documents",
            "ruta-geocode",
            "ruta-pod",
            "ruta-routing",
        ],
        why: "the server is built from ruta-model and sync-storage: no device core, PDF, image or OSM code",
    },
    Rule {
        krate: "ruta-cli",
        transitive: true,
        forbidden: &[
            "app-core",
            "rusqlite",
            "libsqlite3-sys",
            "samod",
            "samod-core",
            "automerge",
            "tokio",
        ],
        why: "the CLI is built from the routing crate: no store or sync engine",
    },
    Rule {
        krate: "ruta-domain",
        transitive: true,
        forbidden: EFFECTS,
        why: "the domain crate is plain data",
    },
    Rule {
        krate: "ruta-domain",
        transitive: true,
        forbidden: DOCUMENTS_POD_ROUTING,
        why: "the domain crate is plain data",
    },
    Rule {
        krate: "ruta-model",
        transitive: true,
        forbidden: EFFECTS,
        why: "the shared model is pure: the server and devices judge the same way without IO",
    },
    Rule {
        krate: "ruta-model",
        transitive: true,
        forbidden: DOCUMENTS_POD_ROUTING,
        why: "the shared model needs no PDF, image or OSM code",
    },
    Rule {
        krate: "ruta-routing",
        transitive: true,
        forbidden: EFFECTS,
        why: "routing is pure: matrices and solvers over data",
    },
    Rule {
        krate: "ruta-routing",
        transitive: true,
        forbidden: &[
            "ruta-model",
            "automerge",
            "krilla",
            "image",
            "ruta-pod",
            "ruta-documents",
        ],
        why: "routing imports only the domain types",
    },
    Rule {
        krate: "ruta-geocode",
        transitive: true,
        forbidden: EFFECTS,
        why: "address search is pure: an index over data",
    },
    Rule {
        krate: "ruta-geocode",
        transitive: true,
        forbidden: &[
            "ruta-model",
            "automerge",
            "krilla",
            "image",
            "ruta-pod",
            "ruta-documents",
            "ruta-routing",
        ],
        why: "address search imports only the domain types",
    },
    Rule {
        krate: "ruta-pod",
        transitive: true,
        forbidden: EFFECTS,
        why: "proof of delivery is pure over bytes",
    },
    Rule {
        krate: "ruta-pod",
        transitive: true,
        forbidden: &[
            "ruta-model",
            "automerge",
            "krilla",
            "osmpbf",
            "ruta-routing",
            "ruta-documents",
        ],
        why: "proof of delivery imports only the domain types",
    },
    Rule {
        krate: "ruta-documents",
        transitive: true,
        forbidden: EFFECTS,
        why: "documents are pure: data in, bytes out",
    },
    Rule {
        krate: "ruta-documents",
        transitive: true,
        forbidden: &[
            "ruta-model",
            "automerge",
            "osmpbf",
            "ruta-routing",
            "ruta-pod",
        ],
        why: "documents import only the domain types",
    },
    Rule {
        krate: "sync-storage",
        transitive: true,
        forbidden: &[
            "ruta-domain",
            "ruta-model",
            "app-core",
            "krilla",
            "image",
            "osmpbf",
        ],
        why: "sync storage keeps opaque chunks: it knows no documents' meaning",
    },
    Rule {
        krate: "device-host",
        transitive: true,
        forbidden: UI_AND_SHELL,
        why: "the device host pulls no UI or shell crates",
    },
];

const WASM_RULES: &[Rule] = &[Rule {
    krate: "app-ui",
    transitive: true,
    forbidden: &[
        "rusqlite",
        "libsqlite3-sys",
        "tokio",
        "mio",
        "app-core",
        "axum",
        "tauri",
    ],
    why: "app-ui compiles to wasm32 and never pulls rusqlite, tokio or the native core",
}];

const API_ALLOWED: &[&str] = &[
    "app-api",
    "serde",
    "serde_core",
    "serde_derive",
    "proc-macro2",
    "quote",
    "syn",
    "unicode-ident",
];

#[test]
fn forbidden_dependency_edges_are_absent() {
    let host = metadata(Some("x86_64-unknown-linux-gnu"));
    let wasm = metadata(Some("wasm32-unknown-unknown"));
    let mut violations = check(&host, HOST_RULES);
    violations.extend(check(&wasm, WASM_RULES));
    let api: BTreeSet<String> = Graph::from(&host).closure("app-api", true);
    for name in api {
        if !API_ALLOWED.contains(&name.as_str()) {
            violations.push(format!(
                "app-api depends on {name}: it may depend on serde only"
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "architecture violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_catches_a_forbidden_edge() {
    // A synthetic graph where app-core pulls tauri through a middle crate.
    let fake = serde_json::json!({
        "packages": [
            { "id": "core", "name": "app-core" },
            { "id": "mid", "name": "some-helper" },
            { "id": "tauri", "name": "tauri" }
        ],
        "resolve": { "nodes": [
            { "id": "core", "deps": [ { "pkg": "mid", "dep_kinds": [ { "kind": null } ] } ] },
            { "id": "mid", "deps": [
                { "pkg": "tauri", "dep_kinds": [ { "kind": null } ] } ] },
            { "id": "tauri", "deps": [] }
        ] }
    });
    let app_core_rule = &HOST_RULES[..1];
    assert_eq!(app_core_rule[0].krate, "app-core");
    let violations = check(&fake, app_core_rule);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("app-core -> tauri"),
        "{violations:?}"
    );
    // Dev-dependencies do not count: the same edge as a dev edge is allowed.
    let mut dev = fake.clone();
    dev["resolve"]["nodes"][1]["deps"][0]["dep_kinds"][0]["kind"] = "dev".into();
    assert!(check(&dev, app_core_rule).is_empty());
}

#[test]
fn the_checker_catches_the_server_reaching_the_device_core_or_documents() {
    // sync-server -> ruta-model is allowed; sync-server -> app-core -> krilla is two
    // violations (the core itself and what it drags in).
    let fake = serde_json::json!({
        "packages": [
            { "id": "srv", "name": "sync-server" },
            { "id": "model", "name": "ruta-model" },
            { "id": "core", "name": "app-core" },
            { "id": "krilla", "name": "krilla" }
        ],
        "resolve": { "nodes": [
            { "id": "srv", "deps": [
                { "pkg": "model", "dep_kinds": [ { "kind": null } ] },
                { "pkg": "core", "dep_kinds": [ { "kind": null } ] } ] },
            { "id": "model", "deps": [] },
            { "id": "core", "deps": [ { "pkg": "krilla", "dep_kinds": [ { "kind": null } ] } ] },
            { "id": "krilla", "deps": [] }
        ] }
    });
    let server_rules: Vec<&Rule> = HOST_RULES
        .iter()
        .filter(|r| r.krate == "sync-server")
        .collect();
    assert_eq!(server_rules.len(), 2);
    let rules: Vec<Rule> = server_rules
        .iter()
        .map(|r| Rule {
            krate: r.krate,
            transitive: r.transitive,
            forbidden: r.forbidden,
            why: r.why,
        })
        .collect();
    let mut violations = check(&fake, &rules);
    violations.sort();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations[0].starts_with("sync-server -> app-core"),
        "{violations:?}"
    );
    assert!(
        violations[1].starts_with("sync-server -> krilla"),
        "{violations:?}"
    );
    // Without the edge to app-core, the model alone passes.
    let mut clean = fake.clone();
    clean["resolve"]["nodes"][0]["deps"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(check(&clean, &rules).is_empty());
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut missing = Vec::new();
    for krate in [
        "app-api",
        "app-core",
        "app-ui",
        "cli",
        "device-host",
        "documents",
        "domain",
        "host-runtime",
        "model",
        "pod",
        "routing",
        "src-tauri",
        "sync-client",
        "sync-server",
        "sync-storage",
        "tests",
        "xtask",
    ] {
        walk(&workspace_root().join(krate), &mut |path| {
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(path).unwrap();
                if !text.trim_start().starts_with("//!") {
                    missing.push(
                        path.strip_prefix(workspace_root())
                            .unwrap()
                            .display()
                            .to_string(),
                    );
                }
            }
        });
    }
    assert!(
        missing.is_empty(),
        "files without a leading //! doc comment: {missing:?}"
    );
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "gen" && name != "dist" && name != "node_modules" {
                walk(&path, f);
            }
        } else {
            f(&path);
        }
    }
}

fn metadata(platform: Option<&str>) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["metadata", "--format-version", "1", "--locked"]);
    if let Some(p) = platform {
        cmd.args(["--filter-platform", p]);
    }
    let out = cmd.output().expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

/// Package names and normal (non-dev, non-build) dependency edges.
struct Graph {
    names: HashMap<String, String>,
    edges: HashMap<String, Vec<String>>,
}

impl Graph {
    fn from(meta: &Value) -> Self {
        let names = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut edges = HashMap::new();
        for node in meta["resolve"]["nodes"].as_array().unwrap() {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap().to_owned())
                .collect();
            edges.insert(node["id"].as_str().unwrap().to_owned(), deps);
        }
        Graph { names, edges }
    }

    /// Names reachable from the package named `krate` (including itself).
    fn closure(&self, krate: &str, transitive: bool) -> BTreeSet<String> {
        let Some(start) = self
            .names
            .iter()
            .find(|(_, n)| *n == krate)
            .map(|(id, _)| id.clone())
        else {
            panic!("package {krate} not in metadata")
        };
        let mut seen = BTreeSet::from([start.clone()]);
        let mut stack = vec![start.clone()];
        while let Some(id) = stack.pop() {
            for dep in self.edges.get(&id).into_iter().flatten() {
                if seen.insert(dep.clone()) && transitive {
                    stack.push(dep.clone());
                }
            }
        }
        seen.iter().map(|id| self.names[id].clone()).collect()
    }
}

fn check(meta: &Value, rules: &[Rule]) -> Vec<String> {
    let graph = Graph::from(meta);
    let mut violations = Vec::new();
    for rule in rules {
        for name in graph.closure(rule.krate, rule.transitive) {
            let hit = rule
                .forbidden
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *pattern,
                });
            if hit && name != rule.krate {
                violations.push(format!("{} -> {name}: {}", rule.krate, rule.why));
            }
        }
    }
    violations
}
