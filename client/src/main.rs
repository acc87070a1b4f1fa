//! Plait's browser client. Mounts the app; everything else is in `app`.

mod app;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
