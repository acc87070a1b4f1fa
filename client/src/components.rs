//! Components shared by the pages.

pub mod account;
pub mod notices;
pub mod sync_status;
