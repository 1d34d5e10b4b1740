//! Mounts the Ruta UI into the page.

fn main() {
    leptos::mount::mount_to_body(app_ui::App);
}
