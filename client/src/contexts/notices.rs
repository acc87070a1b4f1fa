//! Changes the server refused, to tell the person who made them: a list
//! the notices region shows until dismissed. One of the workspace's parts
//! (`Workspace::notices`).

use leptos::prelude::*;

/// The notices.
#[derive(Clone, Copy, Debug)]
pub struct Notices {
    list: RwSignal<Vec<(u64, String)>>,
}

impl Default for Notices {
    /// None yet.
    fn default() -> Notices {
        Notices {
            list: RwSignal::new(Vec::new()),
        }
    }
}

impl Notices {
    /// Adds one.
    pub fn push(self, text: String) {
        self.list.update(|list| {
            let id = list.last().map_or(1, |(id, _)| id + 1);
            list.push((id, text));
        });
    }

    /// Removes them all.
    pub fn dismiss(self) {
        self.list.set(Vec::new());
    }

    /// Reads them (tracks changes).
    pub fn with<T>(self, f: impl FnOnce(&[(u64, String)]) -> T) -> T {
        self.list.with(|list| f(list))
    }
}

/// What to tell the person, provided beside the documents.
pub fn use_notices() -> Notices {
    expect_context::<Notices>()
}
