//! Beranda: the sync state at a glance, and the button that syncs now.

use super::*;

pub(super) async fn beranda(
    State(state): State<Shared>,
    op: Operator,
) -> Result<Response, PageError> {
    let live = state.live.clone();
    let (report, sent_back) = state
        .with_store(move |store, upt, paths| {
            let mut report = crate::status::status_report(paths, true)?;
            if let Some(problem) = live.storage_problem() {
                report.state = crate::status::State::DiskFull;
                report.last_error = Some(problem);
            }
            Ok((report, records::sent_back(store, upt)?))
        })
        .await?;
    let flash = state.take_flash(&op);
    Ok(html(pages::beranda(&op, &report, &sent_back, flash)))
}

pub(super) async fn sync_now(
    State(state): State<Shared>,
    Posted(op, _): Posted<CsrfForm>,
) -> Result<Response, PageError> {
    let (tx, rx) = oneshot::channel();
    let flash = match state.commands.send(Command::SyncNow(tx)).await {
        Err(_) => pages::Flash::bad(t::service_stopping()),
        Ok(()) => match rx.await {
            Ok(Ok(outcome)) => pages::Flash::synced(&outcome),
            Ok(Err(failure)) => pages::Flash::sync_failed(&failure),
            Err(_) => pages::Flash::bad(t::service_stopped()),
        },
    };
    state.flash(&op, flash);
    Ok(Redirect::to("/").into_response())
}
