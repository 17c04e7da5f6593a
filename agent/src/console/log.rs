//! Log: what the agent did, and the support bundle.

use super::*;

pub(super) async fn log(State(state): State<Shared>, op: Operator) -> Result<Response, PageError> {
    let events = state
        .with_store(|s, _, _| Ok(crate::identity::events(s, 200)?))
        .await?;
    Ok(html(pages::log(&op, &events)))
}

/// A support bundle: the status, the recent events and the versions; never names,
/// registration numbers, tokens or the secret.
pub(super) async fn bundle(
    State(state): State<Shared>,
    _op: Operator,
) -> Result<Response, PageError> {
    let body = state
        .with_store(|s, _, paths| {
            let mut status = serde_json::to_value(crate::status::status_report(paths, true)?)
                .unwrap_or_default();
            if let Some(o) = status.as_object_mut() {
                o.remove("token");
            }
            Ok(serde_json::json!({
                "karya_agent": env!("CARGO_PKG_VERSION"),
                "os": std::env::consts::OS,
                "status": status,
                "events": crate::identity::events(s, 200)?,
            }))
        })
        .await?;
    let mut r = (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"karya-dukungan.json\""),
    );
    Ok(r)
}
