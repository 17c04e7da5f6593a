// Helpers shared by the store tests.
#![allow(dead_code)]

use karya_shared::model::{Product, Training, new_id, now_rfc3339};

pub fn product(name: &str, price: i64, stock: i64) -> Product {
    let now = now_rfc3339();
    Product {
        id: new_id().into(),
        name: name.into(),
        category: "kerajinan".into(),
        price_idr: price,
        unit: "pcs".into(),
        stock,
        workshop: "Bengkel kayu".into(),
        created_at: now.clone(),
        updated_at: now,
        ..Default::default()
    }
}

pub fn training(program: &str) -> Training {
    let now = now_rfc3339();
    Training {
        id: new_id().into(),
        program: program.into(),
        category: "menjahit".into(),
        partner: "BLK Pati".into(),
        start_date: time::macros::date!(2026 - 01 - 05),
        end_date: time::macros::date!(2026 - 02 - 05),
        hours: 40,
        instructor: "Ibu Sari".into(),
        capacity: 20,
        scheme: "BNSP".into(),
        created_at: now.clone(),
        updated_at: now,
        deleted: false,
    }
}

/// One agent sync of every document of `upt`, against `hub`'s server half, as the hub runs
/// it (polls and vouches included when `key` is given).
pub fn sync_with_hub(
    agent: &karya_shared::Store,
    hub: &karya_shared::Store,
    upt: &str,
    peer: &str,
    key: Option<&karya_shared::vouch::HeadsKey>,
) -> karya_shared::session::Outcome {
    use karya_shared::server::{self, AgentAuthority};
    use karya_shared::wire::{self, Incoming};
    let authority = AgentAuthority {
        upt: upt.into(),
        key: key.cloned(),
    };
    let docs = karya_shared::DocId::for_agent(upt);
    let mut session = karya_shared::session::SyncSession::new(agent, peer, docs).unwrap();
    session.allow_poll(key.is_some());
    // The token id is the peer's name here (the change log records both).
    let full = format!("{upt}/{peer}");
    let origin = karya_shared::store::Origin {
        peer: &full,
        token: peer,
    };
    while let Some(frame) = session.next_request(agent).unwrap() {
        let reply = match Incoming::decode_with(&frame, &wire::Limits::default()).unwrap() {
            Incoming::Request(r) => server::serve(hub, origin, r, &authority)
                .unwrap()
                .response
                .encode(),
            Incoming::Poll(p) => server::serve_poll(hub, origin, &p, &authority)
                .unwrap()
                .map(|r| r.encode())
                .unwrap_or_default(),
        };
        session.handle_response(agent, &reply).unwrap();
    }
    session.into_outcome()
}
