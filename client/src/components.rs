//! Components shared by the pages.

pub mod account;
pub mod brag;
pub mod date_input;
pub mod form;
pub mod later;
pub mod notices;
pub mod presence;
pub mod spc_chart;
pub mod summary;
pub mod sync_status;
