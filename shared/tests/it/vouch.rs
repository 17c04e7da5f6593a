//! A hub put back from a backup takes back its own changes from an agent, on its vouch, and
//! nothing else: not an agent's own change, not a forged vouch, not another hub's.

use crate::common;

use karya_shared::Store;
use karya_shared::model::UptInfo;
use karya_shared::schema::{self, DocId};
use karya_shared::session::{Outcome, vouch_key};
use karya_shared::vouch::HeadsKey;

const UPT: &str = "LAPAS-PATI";

fn upt(code: &str) -> UptInfo {
    UptInfo::new(
        code,
        &format!("UPT {code}"),
        karya_shared::model::UptType::Lapas,
        "Jawa Tengah",
    )
}

/// One agent sync against `hub`'s server half, polls and vouches on.
fn sync(agent: &Store, hub: &Store, key: &HeadsKey) -> Outcome {
    common::sync_with_hub(agent, hub, UPT, "pc-1", Some(key))
}

fn upts(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .conn()
        .prepare("SELECT code FROM upts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    v.sort();
    v
}

/// A hub with `national` as it was at the backup (`saved`), under the same key.
fn restored(saved: &[u8]) -> Store {
    let hub = Store::open_in_memory(None).unwrap();
    hub.change(&DocId::National, |d| {
        let mut backup = automerge::AutoCommit::load(saved)?;
        d.merge(&mut backup)?;
        Ok(())
    })
    .unwrap();
    hub
}

/// The agent synced with a hub that then registered LAPAS-KUDUS after its backup.
fn before_the_restore(key: &HeadsKey) -> (Store, Vec<u8>) {
    let hub = Store::open_in_memory(None).unwrap();
    hub.change(&DocId::National, |d| schema::put_upt(d, &upt(UPT)))
        .unwrap();
    let agent = Store::open_in_memory(None).unwrap();
    sync(&agent, &hub, key);
    let backup = hub.with_doc(&DocId::National, |d| d.save()).unwrap();
    hub.change(&DocId::National, |d| {
        schema::put_upt(d, &upt("LAPAS-KUDUS"))
    })
    .unwrap();
    let o = sync(&agent, &hub, key);
    assert_eq!(o.round_trips, 1, "a poll brings it: {o:?}");
    assert_eq!(upts(&agent), ["LAPAS-KUDUS", "LAPAS-PATI"]);
    assert!(agent.meta(&vouch_key("national")).unwrap().is_some());
    (agent, backup)
}

#[test]
fn a_restored_hub_takes_back_its_own_changes_on_its_vouch() {
    let key = HeadsKey::generate();
    let (agent, backup) = before_the_restore(&key);
    let hub = restored(&backup);
    assert_eq!(upts(&hub), ["LAPAS-PATI"]);
    // The restored hub writes on (a new actor): concurrent with what it lost.
    hub.change(&DocId::National, |d| schema::put_upt(d, &upt("RUTAN-SOLO")))
        .unwrap();

    let o = sync(&agent, &hub, &key);
    assert!(o.refused.is_empty(), "{o:?}");
    assert_eq!(upts(&hub), ["LAPAS-KUDUS", "LAPAS-PATI", "RUTAN-SOLO"]);
    assert_eq!(upts(&agent), upts(&hub));
    assert_eq!(
        agent.heads(&DocId::National).unwrap().len(),
        hub.heads(&DocId::National).unwrap().len()
    );
    // Settled: the next sync is an idle poll.
    let o = sync(&agent, &hub, &key);
    assert_eq!((o.round_trips, o.changes_received), (1, 0), "{o:?}");
}

#[test]
fn an_agents_own_change_or_a_forged_vouch_is_still_refused() {
    let key = HeadsKey::generate();

    // The agent adds a change of its own to `national` next to the hub's lost one: the
    // vouched history holds the hub's change, not the agent's; the document is refused whole.
    let (agent, backup) = before_the_restore(&key);
    agent
        .change(&DocId::National, |d| schema::put_upt(d, &upt("PALSU")))
        .unwrap();
    let hub = restored(&backup);
    let o = sync(&agent, &hub, &key);
    assert_eq!(o.refused.len(), 1, "{o:?}");
    assert_eq!(o.refused[0].doc, "national");
    assert_eq!(upts(&hub), ["LAPAS-PATI"], "nothing of it was merged");

    // A vouch with its MAC changed is not the hub's.
    let (agent, backup) = before_the_restore(&key);
    let k = vouch_key("national");
    let mut v = hex::decode(agent.meta(&k).unwrap().unwrap()).unwrap();
    let last = v.len() - 1;
    v[last] ^= 1;
    agent.set_meta(&k, &hex::encode(v)).unwrap();
    let hub = restored(&backup);
    let o = sync(&agent, &hub, &key);
    assert_eq!(o.refused.len(), 1, "{o:?}");
    assert_eq!(upts(&hub), ["LAPAS-PATI"]);

    // Another hub's key (a vouch from a different installation) proves nothing here.
    let (agent, backup) = before_the_restore(&key);
    let hub = restored(&backup);
    let o = sync(&agent, &hub, &HeadsKey::generate());
    assert_eq!(o.refused.len(), 1, "{o:?}");
    assert_eq!(upts(&hub), ["LAPAS-PATI"]);
}
