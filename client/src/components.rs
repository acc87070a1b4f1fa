//! Components shared by the pages.

pub mod role_switch;
pub mod sync_status;
