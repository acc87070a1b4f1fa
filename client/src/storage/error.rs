//! What can go wrong with the local store, and whether trying again helps.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

/// A failure of the browser's local store. Nothing half-done is left behind:
/// every write is one IndexedDB transaction, which commits whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// This page has no IndexedDB (storage disabled by policy, some private
    /// windows, or not a browser at all).
    #[error("this browser does not let Plait keep data on this device")]
    Unavailable,
    /// The database could not be opened or its layout created (for example a
    /// newer version of Plait created it, or the browser refused).
    #[error("the local database could not be opened: {0}")]
    Open(String),
    /// The browser's storage quota for this site is used up; nothing was written.
    #[error("this device's storage for Plait is full")]
    QuotaExceeded,
    /// The connection is closed: another tab deleted or upgraded the
    /// database. Open the store again.
    #[error("the local database was closed by another tab")]
    Closed,
    /// The browser aborted the transaction before it committed; nothing was
    /// written.
    #[error("the browser aborted the write: {0}")]
    Aborted(String),
    /// The browser could not read or write its files (`UnknownError`,
    /// `TimeoutError`): a passing fault.
    #[error("the browser could not reach its storage: {0}")]
    Io(String),
    /// Any other IndexedDB failure: a DOM exception this code does not expect.
    #[error("IndexedDB failed: {name}: {message}")]
    Failed {
        /// The exception's name, or `idb` for a failure of the binding.
        name: String,
        /// What the browser said.
        message: String,
    },
    /// Something stored for a document is not what this code writes.
    #[error("the stored data of {doc} is corrupt: {reason}")]
    Corrupt {
        /// The document (or the key that should have been one).
        doc: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Bytes handed to the store are not a yrs v1 update or state vector;
    /// nothing was written.
    #[error("not a yrs v1 {what}: {reason}")]
    Undecodable {
        /// "update" or "state vector".
        what: &'static str,
        /// Why yrs refused it.
        reason: String,
    },
}

impl StorageError {
    /// Whether retrying can help: a full disk, a refused database, corrupt
    /// data or bad input stay as they are; an aborted transaction, a passing
    /// IO fault or a closed connection (after opening again) can pass.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            StorageError::Closed | StorageError::Aborted(_) | StorageError::Io(_)
        )
    }

    /// Classifies a DOM exception by its name (the IndexedDB spec's names).
    pub(crate) fn from_exception(exception: &DomException) -> StorageError {
        let name = exception.name();
        let message = exception.message();
        match name.as_str() {
            "QuotaExceededError" => StorageError::QuotaExceeded,
            // Thrown by `transaction()` once the connection is closing.
            "InvalidStateError" => StorageError::Closed,
            "AbortError" => StorageError::Aborted(message),
            "UnknownError" | "TimeoutError" => StorageError::Io(format!("{name}: {message}")),
            _ => StorageError::Failed { name, message },
        }
    }

    /// A value thrown by the browser: usually a DOM exception.
    pub(crate) fn from_js(value: &JsValue) -> StorageError {
        match value.dyn_ref::<DomException>() {
            Some(exception) => StorageError::from_exception(exception),
            None => StorageError::Failed {
                name: "js".to_owned(),
                message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
            },
        }
    }

    pub(crate) fn corrupt(doc: impl Into<String>, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt {
            doc: doc.into(),
            reason: reason.into(),
        }
    }
}

// Converted rather than wrapped: `idb::Error` holds `JsValue`s, which are
// neither `Send` nor comparable, and the UI keeps errors in signals.
impl From<idb::Error> for StorageError {
    fn from(error: idb::Error) -> StorageError {
        use idb::Error as E;
        let thrown = match &error {
            E::DomException(exception) => return StorageError::from_exception(exception),
            E::IndexedDbNotFound(_) => return StorageError::Unavailable,
            E::AddFailed(value)
            | E::ClearFailed(value)
            | E::CountFailed(value)
            | E::CursorAdvanceFailed(value)
            | E::CursorContinueFailed(value)
            | E::DeleteFailed(value)
            | E::GetAllFailed(value)
            | E::GetAllKeysFailed(value)
            | E::GetFailed(value)
            | E::IndexedDbDeleteFailed(value)
            | E::IndexedDbOpenFailed(value)
            | E::IndexNotFound(value)
            | E::ObjectStoreNotFound(value)
            | E::OpenCursorFailed(value)
            | E::OpenKeyCursorFailed(value)
            | E::TransactionAbortError(value)
            | E::TransactionCommitError(value)
            | E::TransactionOpenFailed(value)
            | E::UpdateFailed(value) => value,
            _ => {
                return StorageError::Failed {
                    name: "idb".to_owned(),
                    message: error.to_string(),
                }
            }
        };
        StorageError::from_js(thrown)
    }
}
