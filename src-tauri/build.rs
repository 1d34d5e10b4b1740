//! Checks that the web UI is built (Tauri embeds it) and runs tauri-build.

fn main() {
    let dist = std::path::Path::new("../app-ui/dist");
    println!("cargo:rerun-if-changed=../app-ui/dist");
    if !dist.join("index.html").is_file() {
        panic!(
            "app-ui/dist/index.html is missing: build the web UI first with `cargo xtask ui` \
             (the Tauri shell embeds it)"
        );
    }
    tauri_build::build();
}
