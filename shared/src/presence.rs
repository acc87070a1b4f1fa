//! Presence: who else has a plan or an action open, what they are editing,
//! and where their caret is (issue 20), as y-protocols awareness states.
//!
//! A state is a JSON object. Plait's client publishes [`LocalPresence`]:
//! `{"action": "a-md001", "field": "description", "cursor": {"anchor": …,
//! "head": …}}`, each part optional (`{}`: the plan is open, no action). The
//! cursor is a pair of relative positions in Yjs's JSON form
//! (`{"type": …, "tname": …, "item": {"client", "clock"}, "assoc"}`, as
//! y-codemirror and y-quill publish them), so any Yjs client can read it and
//! Plait reads theirs. The `user` (`{"id", "name"}`) is never the client's
//! to claim: the server overwrites it with the session's
//! (`server/src/sync.rs`, `bind_awareness`), and [`PeerState`] reads it
//! from there alone.
//!
//! Positions are relative (yrs [`StickyIndex`]): they stay on the same
//! characters whatever others insert or delete before them, so a caret
//! captured before a remote change is restored where it logically was.
//! The documents count text offsets in UTF-16 code units
//! ([`crate::doc::new_doc`]), as the browser's `selectionStart` does, so an
//! index from a `<textarea>` is used as it is.

use serde::{Deserialize, Serialize};
use yrs::branch::{Branch, BranchPtr};
use yrs::{Assoc, IndexedSequence, ReadTxn, StickyIndex, Text, TextRef};

use crate::keys::ActionText;

/// A caret (`anchor == head`) or a selection, as relative positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Where the selection started.
    pub anchor: StickyIndex,
    /// Where it ends (the caret).
    pub head: StickyIndex,
}

/// What this person publishes about a plan document they have open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocalPresence {
    /// The action open (its id), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The text being edited, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<ActionText>,
    /// The caret and selection in that text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// The identity the server set on a state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PresenceUser {
    /// The user name.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// Someone else's state, as read (from Plait or any Yjs client): every part
/// is optional, and a part that does not read is left out rather than the
/// whole state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PeerState {
    /// Who, as the server set it (a state without one is not shown).
    #[serde(default, deserialize_with = "lenient")]
    pub user: Option<PresenceUser>,
    /// The action open.
    #[serde(default, deserialize_with = "lenient")]
    pub action: Option<String>,
    /// The text being edited.
    #[serde(default, deserialize_with = "lenient")]
    pub field: Option<ActionText>,
    /// The caret and selection.
    #[serde(default, deserialize_with = "lenient")]
    pub cursor: Option<Cursor>,
}

/// Reads a `T`, or `None` when the value is anything else.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Maybe<T> {
        Is(T),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Maybe::<T>::deserialize(d)? {
        Maybe::Is(value) => Some(value),
        Maybe::Other(_) => None,
    })
}

/// A relative position for the UTF-16 `index` in `text` (clamped to its
/// length): on the character after it (as Yjs does), or at the end on the
/// last character, so text others add after the end does not carry it
/// along.
pub fn sticky_at<T: ReadTxn>(txn: &T, text: &TextRef, index: u32) -> Option<StickyIndex> {
    let len = text.len(txn);
    let index = index.min(len);
    let assoc = if index < len {
        Assoc::After
    } else {
        Assoc::Before
    };
    text.sticky_index(txn, index, assoc)
}

/// Where `at` lies in `text` now (UTF-16), or `None` when it lies in
/// another text (or in none this document has yet).
pub fn resolve<T: ReadTxn>(txn: &T, text: &TextRef, at: &StickyIndex) -> Option<u32> {
    let offset = at.get_offset(txn)?;
    let branch: &Branch = text.as_ref();
    (offset.branch == BranchPtr::from(branch)).then(|| offset.index.min(text.len(txn)))
}

/// A cursor for a selection from `anchor` to `head` (UTF-16) in `text`.
pub fn cursor_at<T: ReadTxn>(txn: &T, text: &TextRef, anchor: u32, head: u32) -> Option<Cursor> {
    Some(Cursor {
        anchor: sticky_at(txn, text, anchor)?,
        head: sticky_at(txn, text, head)?,
    })
}

/// Where a cursor lies in `text` now: `(anchor, head)` (UTF-16), or `None`
/// when it is in another text.
pub fn resolve_cursor<T: ReadTxn>(txn: &T, text: &TextRef, cursor: &Cursor) -> Option<(u32, u32)> {
    Some((
        resolve(txn, text, &cursor.anchor)?,
        resolve(txn, text, &cursor.head)?,
    ))
}

/// The byte offset in `s` of the UTF-16 offset `index` (the end when past
/// it; inside a surrogate pair, the character's start).
pub fn utf16_to_byte(s: &str, index: u32) -> usize {
    let mut units = 0u32;
    for (byte, c) in s.char_indices() {
        units += c.len_utf16() as u32;
        if units > index {
            return byte;
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::doc::new_doc_with_client_id;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, Map, MapPrelim, TextPrelim, Transact, Update};

    /// Two replicas of a text nested in a map, as an action's description is.
    fn two_replicas(text: &str) -> (yrs::Doc, yrs::Doc) {
        let a = new_doc_with_client_id(1);
        {
            let actions = a.get_or_insert_map("actions");
            let mut txn = a.transact_mut();
            let action = actions.insert(&mut txn, "a-1", MapPrelim::default());
            action.insert(&mut txn, "description", TextPrelim::new(text));
        }
        let b = new_doc_with_client_id(2);
        sync(&a, &b);
        (a, b)
    }

    fn sync(from: &yrs::Doc, to: &yrs::Doc) {
        let update = from
            .transact()
            .encode_state_as_update_v1(&to.transact().state_vector());
        to.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    }

    fn description(doc: &yrs::Doc) -> TextRef {
        let actions = doc.get_or_insert_map("actions");
        let txn = doc.transact();
        let Some(yrs::Out::YMap(action)) = actions.get(&txn, "a-1") else {
            panic!("no action")
        };
        let Some(yrs::Out::YText(text)) = action.get(&txn, "description") else {
            panic!("no text")
        };
        text
    }

    /// A caret in non-ASCII text (UTF-16 offsets, as a textarea's) stays on
    /// its character while someone else types before and after it, and a
    /// caret at the end does not follow text added after it.
    #[test]
    fn a_caret_keeps_its_place_across_remote_edits() {
        let seed = "Ward 4 – café ✓ checked";
        let (a, b) = two_replicas(seed);
        let text_a = description(&a);
        let caret = seed.encode_utf16().count() as u32 - "checked".len() as u32;
        let (mid, end) = {
            let txn = a.transact();
            (
                cursor_at(&txn, &text_a, caret, caret).unwrap(),
                sticky_at(&txn, &text_a, 99).unwrap(),
            )
        };
        let text_b = description(&b);
        {
            let mut txn = b.transact_mut();
            text_b.insert(&mut txn, 0, "🏥 Bay 2, ");
            let len = text_b.len(&txn);
            text_b.insert(&mut txn, len, " daily");
            // Right at the caret: it stays before the character it was on.
            text_b.insert(&mut txn, caret + 10, "✓✓");
        }
        sync(&b, &a);
        let txn = a.transact();
        let now = text_a.get_string(&txn);
        assert_eq!(now, "🏥 Bay 2, Ward 4 – café ✓ ✓✓checked daily");
        // "🏥" is two UTF-16 units: the prefix is 10.
        let (anchor, head) = resolve_cursor(&txn, &text_a, &mid).unwrap();
        assert_eq!((anchor, head), (caret + 12, caret + 12));
        let byte = utf16_to_byte(&now, head);
        assert_eq!(&now[byte..], "checked daily");
        // The end caret stayed after "checked", before " daily".
        assert_eq!(resolve(&txn, &text_a, &end), Some(head + 7));
    }

    /// The JSON form is Yjs's, and a Yjs client's form reads (with
    /// `type`, `tname` and `item` all present, some null); a cursor in
    /// another text resolves to nothing.
    #[test]
    fn cursors_read_and_write_in_yjs_form() {
        let (a, _) = two_replicas("abc");
        let text = description(&a);
        let other = a.get_or_insert_text("elsewhere");
        let txn = a.transact();
        let cursor = cursor_at(&txn, &text, 1, 3).unwrap();
        let json = serde_json::to_value(&LocalPresence {
            action: Some("a-1".into()),
            field: Some(ActionText::Description),
            cursor: Some(cursor.clone()),
        })
        .unwrap();
        assert_eq!(
            json["cursor"]["anchor"],
            serde_json::json!({"item": {"client": 1, "clock": 3}, "assoc": 0})
        );
        assert_eq!(json["field"], "description");
        // As Yjs's JSON.stringify writes a RelativePosition, with a spoofed
        // user the server would have replaced.
        let yjs = serde_json::json!({
            "user": {"id": "compliance", "name": "Compliance Team"},
            "cursor": {
                "anchor": {"type": {"client": 1, "clock": 1}, "tname": null, "item": {"client": 1, "clock": 4}, "assoc": 0},
                "head": {"type": {"client": 1, "clock": 1}, "tname": null, "item": null, "assoc": 0}
            },
            "colour": "#ff0000"
        });
        let peer: PeerState = serde_json::from_value(yjs).unwrap();
        assert_eq!(peer.user.unwrap().name, "Compliance Team");
        let cursor = peer.cursor.unwrap();
        assert_eq!(resolve_cursor(&txn, &text, &cursor), Some((2, 3)));
        assert_eq!(resolve(&txn, &other, &cursor.anchor), None);
        // A state with parts that do not read keeps the rest.
        let odd: PeerState = serde_json::from_value(serde_json::json!({
            "user": {"id": "x", "name": "X"}, "field": "nonsense", "cursor": 5, "action": ["a"]
        }))
        .unwrap();
        assert_eq!(
            (odd.user.is_some(), odd.field, odd.cursor, odd.action),
            (true, None, None, None)
        );
    }

    #[test]
    fn utf16_offsets_map_to_bytes() {
        let s = "Ward 4 – café ✓🏥!";
        assert_eq!(utf16_to_byte(s, 0), 0);
        assert_eq!(&s[utf16_to_byte(s, 7)..], "– café ✓🏥!");
        assert_eq!(&s[utf16_to_byte(s, 13)..], " ✓🏥!");
        assert_eq!(&s[utf16_to_byte(s, 15)..], "🏥!");
        // Inside the surrogate pair: the character's start.
        assert_eq!(&s[utf16_to_byte(s, 16)..], "🏥!");
        assert_eq!(&s[utf16_to_byte(s, 17)..], "!");
        assert_eq!(utf16_to_byte(s, 99), s.len());
    }
}
