//! Per-UPT turns: at most one sync and a few photo uploads of one UPT in flight at once, so
//! that one token (a stuck agent, or someone holding a stolen one) takes at most its own
//! share of the hub's slots. A request over its UPT's share is answered at once, for that
//! UPT only; the other UPTs never see it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts of what each UPT has in flight.
#[derive(Default, Clone)]
pub struct Turns {
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// A turn taken; given back when dropped.
pub struct Turn {
    held: Arc<Mutex<HashMap<String, usize>>>,
    upt: String,
}

impl Turns {
    /// A turn for `upt` when it holds fewer than `most`.
    pub fn take(&self, upt: &str, most: usize) -> Option<Turn> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(upt.to_string()).or_default();
        if *n >= most.max(1) {
            return None;
        }
        *n += 1;
        Some(Turn {
            held: self.held.clone(),
            upt: upt.to_string(),
        })
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.upt) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.upt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_upt_has_at_most_its_share_and_gets_it_back() {
        let turns = Turns::default();
        let a = turns.take("A", 1).unwrap();
        assert!(turns.take("A", 1).is_none(), "one sync of A at a time");
        let _b = turns.take("B", 1).expect("B is not held up by A");
        drop(a);
        assert!(turns.take("A", 1).is_some());
        assert!(turns.held.lock().unwrap().contains_key("B"));
    }
}
