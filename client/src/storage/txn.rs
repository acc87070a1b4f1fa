//! One IndexedDB transaction, awaited until it has committed.

use std::future::IntoFuture;

use idb::{ObjectStore, TransactionFuture, TransactionResult};
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

use super::StorageError;

/// How a transaction may touch the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Reads only; runs alongside other readers.
    Read,
    /// Writes with the browser's default durability: `complete` once the
    /// data is handed to the OS ("relaxed" in Chrome since 121, Firefox and
    /// Safari). A crash of the tab or browser loses nothing; a power cut can
    /// lose the last seconds. Atomicity holds either way.
    Write,
    /// Writes that must survive a power cut once acknowledged:
    /// `durability: "strict"` makes `complete` wait for the flush to disk.
    Durable,
}

/// A running transaction: await [`Txn::finish`] with the outcome of the
/// requests made in it.
pub(crate) struct Txn {
    // Listens from the start, so `complete` or `abort` cannot be missed.
    done: TransactionFuture,
    // Any store of the transaction: reaches it again for `abort()` and `error`.
    probe: ObjectStore,
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").field("store", &self.probe).finish()
    }
}

/// Starts a transaction over `names` and returns its stores in that order.
pub(crate) fn begin<const N: usize>(
    db: &IdbDatabase,
    names: [&str; N],
    mode: Mode,
) -> Result<(Txn, [ObjectStore; N]), StorageError> {
    let scope: Array = names.iter().map(|name| JsValue::from_str(name)).collect();
    let raw = match mode {
        Mode::Read => {
            db.transaction_with_str_sequence_and_mode(&scope, IdbTransactionMode::Readonly)
        }
        Mode::Write => {
            db.transaction_with_str_sequence_and_mode(&scope, IdbTransactionMode::Readwrite)
        }
        Mode::Durable => strict_transaction(db, &scope),
    }
    .map_err(|thrown| StorageError::from_js(&thrown))?;
    let transaction = idb::Transaction::from(raw);
    let stores = names
        .iter()
        .map(|name| transaction.object_store(name))
        .collect::<Result<Vec<_>, _>>()?;
    let stores: [ObjectStore; N] = stores.try_into().map_err(|_| StorageError::Failed {
        name: "idb".to_owned(),
        message: "a transaction without its stores".to_owned(),
    })?;
    let probe = stores
        .first()
        .cloned()
        .ok_or_else(|| StorageError::Failed {
            name: "idb".to_owned(),
            message: "a transaction over no store".to_owned(),
        })?;
    let done = transaction.into_future();
    Ok((Txn { done, probe }, stores))
}

/// `db.transaction(scope, "readwrite", { durability: "strict" })`, called
/// through `Reflect` because web-sys exposes the options only as an unstable
/// API. Browsers without durability hints ignore the option.
fn strict_transaction(db: &IdbDatabase, scope: &Array) -> Result<IdbTransaction, JsValue> {
    let open: Function = Reflect::get(db, &JsValue::from_str("transaction"))?.dyn_into()?;
    let options = Object::new();
    Reflect::set(
        &options,
        &JsValue::from_str("durability"),
        &JsValue::from_str("strict"),
    )?;
    open.call3(db, scope, &JsValue::from_str("readwrite"), &options)?
        .dyn_into()
}

impl Txn {
    /// Waits for the transaction to end and returns `outcome` if it
    /// committed. A failed `outcome` aborts it, so nothing of it is written.
    ///
    /// # Errors
    /// The transaction's own error (the first failure, say a full quota)
    /// when it has one, else the failure of `outcome`, else why it ended.
    pub(crate) async fn finish<T>(
        self,
        outcome: Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let Txn { done, probe } = self;
        if outcome.is_err() {
            // Fails harmlessly when the transaction is already aborting.
            let _ = probe.transaction().abort();
        }
        let ended = done.await;
        let reason = probe
            .transaction()
            .error()
            .map(|exception| StorageError::from_exception(&exception));
        match (outcome, ended) {
            (Ok(value), Ok(TransactionResult::Committed)) => Ok(value),
            (Ok(_), Ok(TransactionResult::Aborted)) => Err(reason.unwrap_or_else(|| {
                StorageError::Aborted("the transaction was aborted".to_owned())
            })),
            (Ok(_), Err(error)) => Err(reason.unwrap_or_else(|| error.into())),
            (Err(error), _) => Err(reason.unwrap_or(error)),
        }
    }
}
