//! Pengaturan (admin accounts only): a new token from HQ, checked with the hub before it
//! is saved; and the import templates, for every operator, from the Impor page.

use super::*;

/// Refuses an operator who is not an admin, saying how one is made.
fn admin_only(op: &Operator) -> Result<(), PageError> {
    if op.admin {
        Ok(())
    } else {
        Err(PageError(StatusCode::FORBIDDEN, t::admin_only().into()))
    }
}

pub(super) async fn settings(
    State(state): State<Shared>,
    op: Operator,
) -> Result<Response, PageError> {
    admin_only(&op)?;
    let (upt, hubs) = state
        .with_store(|_, upt, paths| {
            let config = crate::config::AgentConfig::load(paths)?;
            Ok((upt.to_string(), config.hub.urls().join(", ")))
        })
        .await?;
    let flash = state.take_flash(&op);
    Ok(html(pages::settings(&op, &upt, &hubs, flash)))
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    csrf: String,
    token: String,
}

with_csrf!(TokenForm);

/// A new token: checked with the hub (another UPT's, or one the hub refuses, is not saved),
/// then saved; the service's next sync uses it, and one is asked for now.
pub(super) async fn set_token(
    State(state): State<Shared>,
    Posted(op, f): Posted<TokenForm>,
) -> Result<Response, PageError> {
    admin_only(&op)?;
    let paths = state.paths.clone();
    let flash = match crate::cli::setup::replace_token(&paths, &f.token).await {
        // Saved: a sync with it now says whether it works.
        Ok(()) => {
            let (tx, rx) = oneshot::channel();
            let mut flash = match state.commands.send(Command::SyncNow(tx)).await {
                Err(_) => pages::Flash::bad(t::service_stopping()),
                Ok(()) => match rx.await {
                    Ok(Ok(outcome)) => pages::Flash::synced(&outcome),
                    Ok(Err(failure)) => pages::Flash::sync_failed(&failure),
                    Err(_) => pages::Flash::bad(t::service_stopped()),
                },
            };
            flash.text = format!("{} {}", t::token_saved_here(), flash.text);
            flash
        }
        Err(e) => pages::Flash::bad(&e.to_string()),
    };
    state.flash(&op, flash);
    Ok(Redirect::to("/pengaturan").into_response())
}

/// `/templat/produk.xlsx` (and penjualan, pelatihan): the import templates with the
/// categories in force, as `karya-agent template` writes them.
pub(super) async fn template(
    State(state): State<Shared>,
    _op: Operator,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    use crate::template::TemplateKind;
    let kind = match file.as_str() {
        "produk.xlsx" => TemplateKind::Produk,
        "penjualan.xlsx" => TemplateKind::Penjualan,
        "pelatihan.xlsx" => TemplateKind::Pelatihan,
        _ => {
            return Err(PageError(
                StatusCode::NOT_FOUND,
                t::no_such_template().into(),
            ));
        }
    };
    let bytes = state
        .with_store(move |s, _, paths| {
            let training = kind == TemplateKind::Pelatihan;
            let names: Vec<String> = records::category_choices(s, training)?
                .into_iter()
                .map(|(slug, name)| if training { slug } else { name })
                .collect();
            std::fs::create_dir_all(paths.uploads()).map_err(|e| AgentError::Io(e.to_string()))?;
            let tmp = upload_path(paths, &random_id(), "xlsx");
            let written = crate::template::write(kind, &names, &tmp)
                .map_err(|e| AgentError::Io(e.to_string()))
                .and_then(|()| std::fs::read(&tmp).map_err(|e| AgentError::Io(e.to_string())));
            let _ = std::fs::remove_file(&tmp);
            written
        })
        .await?;
    let mut r = (
        [(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
