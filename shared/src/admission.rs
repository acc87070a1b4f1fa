//! Admitting an update: the server decides on every incoming update from
//! what it does — its items (each with a parent, a key or an origin, and
//! content) and its delete set — before it touches the document.
//!
//! - **Complete or not at all.** An update that depends on clocks the server
//!   lacks is [`Verdict::Incomplete`]: nothing is stored, sent or
//!   acknowledged, and the server answers with its state vector so an honest
//!   client sends what is missing. (yrs would keep it pending and apply it
//!   later inside someone else's update, checked as them.)
//! - **Schema-typed.** Each item's parent is a place the schema names
//!   ([`schema`]), of the right shared type, with content of the right kind;
//!   an existing action, finding, text or log is never replaced; logs grow
//!   after their entries and are never deleted from.
//! - **Role-checked.** Who may set a field, edit a text or append an entry
//!   is asked of [`crate::access`], with ownership as it was before the
//!   update; an entry must take effect in the fold without changing what any
//!   earlier entry did, so the rules and the fold cannot disagree.
//! - **Authors are client ids.** The first person to write under a client id
//!   owns it; nobody else's update may carry items under it (that is how a
//!   forgery, or the planting of clocks a colleague's device will use, looks).
//! - **Refusal is local.** What may not stand never enters the document (it
//!   becomes collected clocks, so the sender's later work still follows on;
//!   a refused deletion is dropped), except characters and log entries the
//!   author may not add, which are deleted by id in the same transaction,
//!   and a refused clearing of a field, set back. Nothing else of anyone's
//!   is touched. (Applying and then putting back more than that loses
//!   members' concurrent offline work: see `docs/access.md` and
//!   `tests/adversarial_findings.rs`.)
//!
//! ```
//! use plait_shared::admission::{decide, integrate, Author, ItemIndex, Limits, Verdict};
//! use plait_shared::admission::schema::DocShape;
//! use plait_shared::{new_doc, Governance, UnixMillis, UserId, Role};
//! use yrs::{Map, ReadTxn, StateVector, Transact};
//!
//! let server = new_doc();
//! let mut index = ItemIndex::new(DocShape::Plan);
//! // A viewer tries to add a root of their own.
//! let hostile = new_doc();
//! hostile.get_or_insert_map("junk").insert(&mut hostile.transact_mut(), "k", "v");
//! let bytes = hostile.transact().encode_state_as_update_v1(&StateVector::default());
//! let viewer = UserId::new("board").unwrap();
//! let author = Author::Member { user: &viewer, role: Role::Viewer, rules: Governance::DEFAULT };
//! let Verdict::Admit(admitted) = decide(&index, &server, author, &bytes, 0, &Limits::DEFAULT).unwrap()
//! else { panic!() };
//! let outcome = integrate(&server, &mut index, admitted, author, UnixMillis(0), &Limits::DEFAULT).unwrap();
//! assert_eq!(outcome.refused.len(), 1);
//! assert!(server.transact().get_map("junk").is_none_or(|m| m.len(&server.transact()) == 0));
//! ```

pub mod codec;
mod decide;
pub mod index;
pub mod schema;

pub use decide::{
    decide, decide_decoded, integrate, Admitted, Author, IntegrateError, Limits, Outcome, Refusal,
    Verdict,
};
pub use index::{ItemIndex, Writer};

/// Applies an update another server already admitted and stored (several
/// servers sharing one store: what one commits, the others follow), keeping
/// `index` right: the items it adds, what yrs deleted while integrating it,
/// and the client ids it claims for their writers (`claims`, as the store
/// recorded them). Nothing is decided: the update was, where it arrived.
///
/// # Errors
/// [`IntegrateError`] when yrs refuses it or keeps part of it pending (the
/// servers' logs differ); the document must then be reloaded.
pub fn apply_committed(
    doc: &yrs::Doc,
    index: Option<&mut ItemIndex>,
    bytes: &[u8],
    claims: &[(yrs::ClientID, Writer)],
) -> Result<(), IntegrateError> {
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn as _, Transact};
    let yrs_error = |e: &dyn std::fmt::Display| IntegrateError::Yrs(e.to_string());
    let deletes = {
        let mut txn = doc.transact_mut();
        let update = yrs::Update::decode_v1(bytes).map_err(|e| yrs_error(&e))?;
        txn.apply_update(update).map_err(|e| yrs_error(&e))?;
        if txn.store().pending_update().is_some() || txn.store().pending_ds().is_some() {
            return Err(IntegrateError::Yrs(
                "a committed update stayed pending".into(),
            ));
        }
        txn.delete_set().clone()
    };
    if let Some(index) = index {
        // As `integrate` does for an update it stores: what yrs deleted
        // first, then the items.
        let decoded = codec::decode(bytes).map_err(|e| yrs_error(&e))?;
        index.mark_deleted(&deletes);
        index.extend(&decoded);
        for (client, writer) in claims {
            index.set_writer(*client, writer.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
