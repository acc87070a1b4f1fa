//! Helpers for reading and writing the yrs documents, shared by the programme
//! and plan documents.

use serde::Serialize;
use yrs::types::ToJson;
use yrs::{
    Any, Array, ArrayRef, Doc, GetString, Map, MapRef, OffsetKind, Options, Out, ReadTxn, Text,
    TextRef,
};

/// A new document whose text offsets count UTF-16 code units, as Yjs and the
/// browser do, so positions from a `<textarea>` mean the same on both sides.
pub fn new_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    })
}

/// Like [`new_doc`] with a chosen client id (tests and servers pick their own).
pub fn new_doc_with_client_id(client_id: u64) -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::with_client_id(yrs::ClientID::new(client_id))
    })
}

/// A write that could not be made. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// No action with this id in the plan.
    #[error("no action {0} in this plan")]
    UnknownAction(String),
    /// No finding with this id in the plan.
    #[error("no finding {0} in this plan")]
    UnknownFinding(String),
    /// The id is taken.
    #[error("{what} {id} already exists")]
    AlreadyExists {
        /// "action", "finding", ...
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A part of the document does not have the shape the schema says
    /// (written by a faulty or hostile peer).
    #[error("{0} does not have the expected shape")]
    Malformed(String),
    /// The original due date is kept once set; changes go through requests.
    #[error("the original due date is already set; request a due-date change instead")]
    DueDateAlreadySet,
    /// A text edit outside the text.
    #[error("text edit at {index}+{delete} is outside a text of length {len}")]
    OutOfRange {
        /// Where the edit starts.
        index: u32,
        /// How much it deletes.
        delete: u32,
        /// The text's length (UTF-16 code units).
        len: u32,
    },
    /// A value that cannot be stored.
    #[error("cannot store {0}")]
    Unstorable(String),
}

impl WriteError {
    /// Whether trying the same write again could succeed (it cannot: every
    /// variant is about the request or the document, not a passing fault).
    pub fn is_permanent(&self) -> bool {
        true
    }
}

/// Something in a document that a read view had to skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// Where, as `actions/a-MD001/evidence[2]`.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

pub(crate) fn to_any<T: Serialize>(value: &T) -> Result<Any, WriteError> {
    yrs::encoding::serde::to_any(value).map_err(|e| WriteError::Unstorable(e.to_string()))
}

/// A plain string entry of a map.
pub(crate) fn get_str<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<String> {
    match map.get(txn, key) {
        Some(Out::Any(Any::String(s))) => Some(s.to_string()),
        _ => None,
    }
}

/// A string entry parsed into a typed value; a value that does not parse is
/// reported and read as absent.
pub(crate) fn get_parsed<T, R, E>(
    map: &MapRef,
    txn: &R,
    key: &str,
    path: &str,
    problems: &mut Vec<SchemaProblem>,
) -> Option<T>
where
    T: std::str::FromStr<Err = E>,
    E: std::fmt::Display,
    R: ReadTxn,
{
    let raw = get_str(map, txn, key)?;
    match raw.parse() {
        Ok(value) => Some(value),
        Err(e) => {
            problems.push(SchemaProblem {
                path: format!("{path}/{key}"),
                reason: e.to_string(),
            });
            None
        }
    }
}

/// A list of strings stored as one value, each parsed.
pub(crate) fn get_list<T, R, E>(
    map: &MapRef,
    txn: &R,
    key: &str,
    path: &str,
    problems: &mut Vec<SchemaProblem>,
) -> Vec<T>
where
    T: std::str::FromStr<Err = E>,
    E: std::fmt::Display,
    R: ReadTxn,
{
    let Some(Out::Any(Any::Array(items))) = map.get(txn, key) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Any::String(s) => match s.parse() {
                Ok(value) => Some(value),
                Err(e) => {
                    problems.push(SchemaProblem {
                        path: format!("{path}/{key}"),
                        reason: format!("{e}"),
                    });
                    None
                }
            },
            other => {
                problems.push(SchemaProblem {
                    path: format!("{path}/{key}"),
                    reason: format!("expected a string, found {}", json(other)),
                });
                None
            }
        })
        .collect()
}

pub(crate) fn string_list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Any {
    Any::Array(items.into_iter().map(|s| Any::from(s.as_ref())).collect())
}

/// The text of a `Y.Text` entry ("" if absent or not a text).
pub(crate) fn get_text<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> String {
    match map.get(txn, key) {
        Some(Out::YText(text)) => text.get_string(txn),
        _ => String::new(),
    }
}

pub(crate) fn text_ref<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<TextRef> {
    match map.get(txn, key) {
        Some(Out::YText(text)) => Some(text),
        _ => None,
    }
}

pub(crate) fn array_ref<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<ArrayRef> {
    match map.get(txn, key) {
        Some(Out::YArray(array)) => Some(array),
        _ => None,
    }
}

pub(crate) fn map_ref<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<MapRef> {
    match map.get(txn, key) {
        Some(Out::YMap(inner)) => Some(inner),
        _ => None,
    }
}

/// Every entry of a log array that deserializes; the rest are reported.
pub(crate) fn get_log<E: crate::entries::Stored, T: ReadTxn>(
    map: &MapRef,
    txn: &T,
    key: &str,
    path: &str,
    problems: &mut Vec<SchemaProblem>,
) -> Vec<E> {
    let Some(array) = array_ref(map, txn, key) else {
        return Vec::new();
    };
    array
        .iter(txn)
        .enumerate()
        .filter_map(|(i, item)| {
            let any = match item {
                Out::Any(any) => any,
                other => other.to_json(txn),
            };
            match crate::entries::Fields::of(&any).and_then(|fields| E::read(&fields)) {
                Ok(entry) => Some(entry),
                Err(reason) => {
                    problems.push(SchemaProblem {
                        path: format!("{path}/{key}[{i}]"),
                        reason,
                    });
                    None
                }
            }
        })
        .collect()
}

fn json(any: &Any) -> String {
    let mut out = String::new();
    any.to_json(&mut out);
    out.chars().take(60).collect()
}

/// Applies an edit to a `Y.Text`, checking the range first.
pub(crate) fn edit_text(
    txn: &mut yrs::TransactionMut,
    text: &TextRef,
    edit: &TextEdit,
) -> Result<(), WriteError> {
    let len = text.len(txn);
    let end = edit.index.checked_add(edit.delete);
    if end.is_none_or(|end| end > len) {
        return Err(WriteError::OutOfRange {
            index: edit.index,
            delete: edit.delete,
            len,
        });
    }
    let content = text.get_string(txn);
    let boundary = |at: u32| {
        let mut units = 0u32;
        for c in content.chars() {
            if units >= at {
                break;
            }
            units += c.len_utf16() as u32;
        }
        units == at
    };
    if !boundary(edit.index) || !boundary(edit.index + edit.delete) {
        return Err(WriteError::OutOfRange {
            index: edit.index,
            delete: edit.delete,
            len,
        });
    }
    if edit.delete > 0 {
        text.remove_range(txn, edit.index, edit.delete);
    }
    if !edit.insert.is_empty() {
        text.insert(txn, edit.index, &edit.insert);
    }
    Ok(())
}

/// A splice of a text: delete `delete` units at `index`, then insert `insert`
/// there. Offsets count UTF-16 code units, as in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    /// Where.
    pub index: u32,
    /// How many UTF-16 code units to delete.
    pub delete: u32,
    /// What to insert.
    pub insert: String,
}

impl TextEdit {
    /// The smallest splice that turns `old` into `new` (the common prefix
    /// and suffix kept, the middle replaced), on character boundaries;
    /// `None` when they are equal.
    pub fn between(old: &str, new: &str) -> Option<TextEdit> {
        if old == new {
            return None;
        }
        let prefix: usize = old
            .chars()
            .zip(new.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
        let suffix: usize = old_rest
            .chars()
            .rev()
            .zip(new_rest.chars().rev())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        let removed = &old_rest[..old_rest.len() - suffix];
        let inserted = &new_rest[..new_rest.len() - suffix];
        let units = |s: &str| s.encode_utf16().count() as u32;
        Some(TextEdit {
            index: units(&old[..prefix]),
            delete: units(removed),
            insert: inserted.to_owned(),
        })
    }
}
