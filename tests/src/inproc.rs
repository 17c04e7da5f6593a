//! One agent sync against the hub's own answer to each frame
//! ([`karya_hub::handlers::sync::answer`]), in process: the agent's session as its service
//! runs it (polls taken, photo gaps asked), without HTTP. The offline-spell scenario and the
//! instruction-count benchmarks' recorded frames both come from here.

use karya_shared::session::{Outcome, SyncSession};
use karya_shared::{DocId, Store};

/// The frames of one sync: `(request, reply)` per round trip (an empty reply: 204).
pub type Frames = Vec<(Vec<u8>, Vec<u8>)>;

/// Syncs the agent of `upt` on `agent` (as PC `peer`, token `token_id`) with the hub `hub`;
/// `probe`: as after attempts that failed while the hub was away (see
/// [`SyncSession::probe_first`]).
pub fn sync(
    hub: &karya_hub::AppState,
    agent: &Store,
    upt: &str,
    peer: &str,
    token_id: &str,
    probe: bool,
) -> (Outcome, Frames) {
    sync_within(hub, agent, upt, peer, token_id, probe, None)
}

/// [`sync`] with each request's changes bounded by `budget` bytes, as the agent bounds them
/// by its link's measured rate ([`karya_agent::client::upload_budget`]).
pub fn sync_within(
    hub: &karya_hub::AppState,
    agent: &Store,
    upt: &str,
    peer: &str,
    token_id: &str,
    probe: bool,
    budget: Option<usize>,
) -> (Outcome, Frames) {
    let mut session = SyncSession::new(agent, peer, DocId::for_agent(upt)).expect("session");
    session.allow_poll(true);
    session.take_photo_gaps();
    if probe {
        session.probe_first();
    }
    if let Some(budget) = budget {
        session.set_budget(budget);
    }
    let mut frames = Vec::new();
    while let Some(frame) = session.next_request(agent).expect("request") {
        let reply = karya_hub::handlers::sync::answer(hub, &hub.db, upt, token_id, &frame, true)
            .expect("answered")
            .map(|served| served.response.encode())
            .unwrap_or_default();
        session.handle_response(agent, &reply).expect("reply");
        frames.push((frame, reply));
    }
    (session.into_outcome(), frames)
}
