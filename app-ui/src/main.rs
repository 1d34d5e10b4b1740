//! Mounts the Ruta UI into the page.

fn main() {
    // A panic in the UI shows its message in the console (and in test logs)
    // instead of a bare "unreachable".
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("Ruta UI panicked: {info}").into());
    }));
    leptos::mount::mount_to_body(app_ui::App);
}
