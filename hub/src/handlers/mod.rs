//! One module per area of the API.

pub mod blobs;
pub mod curation;
pub mod ops;
pub mod sync;
pub mod views;
