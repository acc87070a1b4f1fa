//! Who else is here (issue 20): the line "Also here: D. Hughes (editing the
//! description), Chief Nurse" on the action list and an action's page, and
//! the colour each colleague's caret is drawn in.
//!
//! Names are the server's (`user.name`, set from the session), never what
//! a client claims. The line is plain text, not a live region: people come
//! and go, and a screen reader is not interrupted for it.

use leptos::prelude::*;
use plait_shared::ActionText;

use crate::contexts::workspace::Peer;

/// How many caret colours there are (`.plait-peer-0` … in the style sheet).
pub const COLOURS: u64 = 6;

/// The colour class of a colleague's tab.
pub fn colour_class(client: u64) -> String {
    format!("plait-peer-{}", client % COLOURS)
}

/// How a colleague is named: theirs, or "you, in another tab".
pub fn name_of(peer: &Peer) -> String {
    if peer.mine {
        "you, in another tab".into()
    } else {
        peer.name.clone()
    }
}

/// The line for `here` (each peer with the text they are editing, if any):
/// one entry per person (their tabs count once; the one editing wins),
/// `None` when nobody else is here.
pub fn also_here(here: Vec<(Peer, Option<ActionText>)>) -> Option<String> {
    let mut people: Vec<(String, bool, String, Option<ActionText>)> = Vec::new();
    for (peer, field) in here {
        let name = name_of(&peer);
        match people
            .iter_mut()
            .find(|(user, mine, ..)| *user == peer.user && *mine == peer.mine)
        {
            Some(known) => known.3 = known.3.or(field),
            None => people.push((peer.user, peer.mine, name, field)),
        }
    }
    if people.is_empty() {
        return None;
    }
    let names: Vec<String> = people
        .into_iter()
        .map(|(_, _, name, field)| match field {
            Some(field) => format!(
                "{name} (editing the {})",
                field.label().to_ascii_lowercase()
            ),
            None => name,
        })
        .collect();
    Some(format!("Also here: {}", names.join(", ")))
}

/// The line, or nothing.
#[component]
pub fn AlsoHere(line: Signal<Option<String>>) -> impl IntoView {
    move || {
        line.get()
            .map(|line| view! { <p class="nhsuk-body-s plait-presence" data-testid="presence">{line}</p> })
    }
}
