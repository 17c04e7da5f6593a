//! The agent's words: its command line, `status`, the web console and the help of its
//! commands, each in Bahasa Indonesia (the default) and English (`KARYA_LANG=en`), side by
//! side. The language, the number formats and the words every crate shares (the reasons a
//! value is refused, a record not found, a full disk) come from [`karya_shared::text`], which
//! this module re-exports: code in the agent writes `text::…` and never words inline.

pub use karya_shared::text::*;
pub(crate) use karya_shared::{say, words};

pub mod agent;
pub mod console;
pub mod help;
pub mod sync;
