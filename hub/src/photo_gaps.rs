//! The photos a UPT's products name that this hub does not hold whole: after a restore with
//! an older photo folder, or a move to a new machine, the agents believe they sent them. The
//! hub looks once per UPT (at the UPT's first sync after the hub starts, then again at most
//! every [`LOOK_EVERY`]) and names the gaps in its sync reply to each of the UPT's agents,
//! once per look; the agents send them again (see `karya_shared::wire`, flags bit 3).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one look at a UPT's photos holds.
pub const LOOK_EVERY: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct PhotoGaps {
    by_upt: Mutex<HashMap<String, Gap>>,
}

struct Gap {
    /// The photos found missing at the last look, less those received since.
    missing: Vec<String>,
    looked: Instant,
    /// The agents (peer ids) told since the last look.
    told: HashSet<String>,
}

impl PhotoGaps {
    /// The photos of `upt` to name to agent `peer` in this reply: `None` when there are none,
    /// or the agent was told since the last look. `look` lists the photos `upt`'s products
    /// name that the hub does not hold whole; it runs when there was no look yet or the last
    /// one is older than [`LOOK_EVERY`].
    pub fn to_tell<E>(
        &self,
        upt: &str,
        peer: &str,
        look: impl FnOnce() -> Result<Vec<String>, E>,
    ) -> Result<Option<Vec<String>>, E> {
        let due = {
            let map = self.by_upt.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(upt) {
                Some(gap) if gap.looked.elapsed() < LOOK_EVERY => {
                    if gap.missing.is_empty() || gap.told.contains(peer) {
                        return Ok(None);
                    }
                    false
                }
                _ => true,
            }
        };
        // The look (a query and a stat per photo) runs outside the lock; two syncs of one UPT
        // at once may both look, and the later one's answer stands.
        let fresh = if due { Some(look()?) } else { None };
        let mut map = self.by_upt.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(missing) = fresh {
            map.insert(
                upt.to_string(),
                Gap {
                    missing,
                    looked: Instant::now(),
                    told: HashSet::new(),
                },
            );
        }
        let Some(gap) = map.get_mut(upt) else {
            return Ok(None);
        };
        if gap.missing.is_empty() || !gap.told.insert(peer.to_string()) {
            return Ok(None);
        }
        Ok(Some(
            gap.missing
                .iter()
                .take(karya_shared::wire::MAX_PHOTO_GAPS)
                .cloned()
                .collect(),
        ))
    }

    /// Forgets the last look at `upt`'s photos: the next sync looks again (a hub being
    /// rebuilt has just taken the UPT's products from its agent).
    pub fn forget(&self, upt: &str) {
        self.by_upt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(upt);
    }

    /// `hash` arrived whole from `upt`'s agent: it is no longer a gap.
    pub fn filled(&self, upt: &str, hash: &str) {
        let mut map = self.by_upt.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(gap) = map.get_mut(upt) {
            gap.missing.retain(|h| h != hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(v: &[&str]) -> impl FnOnce() -> Result<Vec<String>, ()> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        move || Ok(v)
    }

    #[test]
    fn each_agent_is_told_once_per_look_and_a_filled_gap_is_not_told() {
        let gaps = PhotoGaps::default();
        assert_eq!(
            gaps.to_tell("A", "A/p1", look(&["h1", "h2"])).unwrap(),
            Some(vec!["h1".to_string(), "h2".to_string()])
        );
        // Told already; no second look within the hour.
        let no_look = || -> Result<Vec<String>, ()> { panic!("looked again") };
        assert_eq!(gaps.to_tell("A", "A/p1", no_look).unwrap(), None);
        gaps.filled("A", "h1");
        assert_eq!(
            gaps.to_tell("A", "A/p2", no_look).unwrap(),
            Some(vec!["h2".to_string()])
        );
        gaps.filled("A", "h2");
        assert_eq!(gaps.to_tell("A", "A/p3", no_look).unwrap(), None);
        // Nothing missing: nothing said.
        assert_eq!(gaps.to_tell("B", "B/p1", look(&[])).unwrap(), None);
    }
}
