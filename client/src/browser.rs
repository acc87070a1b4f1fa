//! The browser, in one place: the clock, `localStorage`, keyboard focus and
//! the chosen file of a file input. Everything else in the client reaches
//! the browser through these (or through `api`, `json`, `storage` and the
//! sync driver, each owning one browser API).

use leptos::prelude::{request_animation_frame, GetUntracked, NodeRef};
use plait_shared::{Date, UnixMillis};
use wasm_bindgen::JsCast;

/// The `sessionStorage` key that says the page was reloaded by signing out.
pub const SIGNED_OUT_KEY: &str = "plait-signed-out";

/// A new entity's id: `{prefix}-{time}-{random}`, unique across devices
/// (each device adds its own; the id forms of `plait_shared::ids`).
pub fn fresh_id(prefix: &str) -> String {
    let salt = (js_sys::Math::random() * 1e9) as u64;
    format!("{prefix}-{}-{salt}", now().0)
}

/// Now, by the browser's clock.
pub fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as i64)
}

/// Today, by the browser's clock (UTC).
pub fn today() -> Date {
    now().date()
}

/// The browser's `localStorage`, when it has one.
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The text stored under `key` in `localStorage`.
pub fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Stores `value` under `key` in `localStorage` (quietly: a full or
/// disabled store loses only what it would have remembered).
pub fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Every `localStorage` key that starts with `prefix`.
pub fn keys_starting(prefix: &str) -> Vec<String> {
    let Some(storage) = local_storage() else {
        return Vec::new();
    };
    let count = storage.length().unwrap_or(0);
    (0..count)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|key| key.starts_with(prefix))
        .collect()
}

/// Removes `key` from `localStorage`.
pub fn unstore(key: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
}

/// Moves keyboard focus to the element `id` once it is on the page (looked
/// for at each of the next frames, for about a second: the view that holds
/// it may render a frame or two after the change that asked).
pub fn focus(id: &'static str) {
    let frames = std::cell::Cell::new(60u32);
    fn attempt(id: &'static str, frames: std::rc::Rc<std::cell::Cell<u32>>) {
        request_animation_frame(move || {
            let element = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(id))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            match element {
                Some(element) => {
                    let _ = element.focus();
                }
                None if frames.get() > 0 => {
                    frames.set(frames.get() - 1);
                    attempt(id, frames);
                }
                None => {}
            }
        });
    }
    attempt(id, std::rc::Rc::new(frames));
}

/// The chosen file of the file `input`, if any.
pub fn chosen_file(input: NodeRef<leptos::html::Input>) -> Option<web_sys::File> {
    input.get_untracked()?.files()?.get(0)
}

/// Forgets the file chosen in `input`.
pub fn clear_file(input: NodeRef<leptos::html::Input>) {
    if let Some(input) = input.get_untracked() {
        input.set_value("");
    }
}

thread_local! {
    static INTERNED: std::cell::RefCell<std::collections::HashSet<&'static str>> =
        std::cell::RefCell::new(std::collections::HashSet::new());
}

/// `text` as a `&'static str` (the form components take their element ids
/// so): kept once per distinct text for the page's life, however often a
/// view that makes it renders.
pub fn interned(text: &str) -> &'static str {
    INTERNED.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(found) = set.get(text) {
            return *found;
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        set.insert(leaked);
        leaked
    })
}
