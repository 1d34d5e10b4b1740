//! Desktop entry point of the Ruta app; mobile builds enter through
//! [`ruta_app::run`] directly.

// Keep a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    ruta_app::run();
}
