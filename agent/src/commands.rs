//! What the service is asked and what it says it knows: shared by the service, the control
//! API and the console, which all sit above this module.

use crate::sync::SyncFailure;
use karya_shared::session::Outcome;
use tokio::sync::oneshot;

/// What the control API asks of the service.
#[derive(Debug)]
pub enum Command {
    SyncNow(oneshot::Sender<Result<Outcome, SyncFailure>>),
}

/// What the running service knows that its database may not hold: the disk it writes to
/// is full (or read-only), so the status it records is stale. `status` asks the service.
#[derive(Debug, Clone, Default)]
pub struct Live(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl Live {
    pub fn set(&self, problem: Option<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Why the service cannot write its data, if it cannot.
    pub fn storage_problem(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
