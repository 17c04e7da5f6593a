//! Impor: a spreadsheet uploaded, previewed, then imported.

use super::*;

pub(super) async fn import_page(
    State(state): State<Shared>,
    op: Operator,
) -> Result<Response, PageError> {
    let flash = state.take_flash(&op);
    Ok(html(pages::import_page(&op, None, flash)))
}

pub(super) async fn upload(
    State(state): State<Shared>,
    op: Operator,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("berkas") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    PageError(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        t::file_unreadable(&e.to_string()),
                    )
                })?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    csrf_ok(&op, &csrf)?;
    let Some((name, bytes)) = file.filter(|(n, b)| !n.is_empty() && !b.is_empty()) else {
        state.flash(&op, pages::Flash::bad(t::choose_file()));
        return Ok(Redirect::to("/impor").into_response());
    };
    let ext = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if !matches!(
        ext.as_str(),
        "csv" | "txt" | "xlsx" | "xlsm" | "xls" | "ods"
    ) {
        state.flash(&op, pages::Flash::bad(&t::not_importable(&ext)));
        return Ok(Redirect::to("/impor").into_response());
    }
    let token = random_id();
    let preview = state
        .with_store(move |s, upt, paths| {
            std::fs::create_dir_all(paths.uploads()).map_err(|e| AgentError::Io(e.to_string()))?;
            let path = upload_path(paths, &token, &ext);
            std::fs::write(&path, &bytes).map_err(|e| AgentError::Io(e.to_string()))?;
            Ok(pages::Preview::of(s, upt, &path, &name, &token))
        })
        .await?;
    Ok(html(pages::import_page(&op, Some(&preview), None)))
}

pub(super) async fn import_upload(
    State(state): State<Shared>,
    Path(token): Path<String>,
    Posted(op, f): Posted<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if token.len() != 48 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PageError(
            StatusCode::NOT_FOUND,
            t::upload_not_found().into(),
        ));
    }
    let name = f.get("nama").cloned().unwrap_or_default();
    let import = move |s: &mut Store, upt: &str, paths: &Paths| {
        let found = std::fs::read_dir(paths.uploads())
            .map_err(|e| AgentError::Io(e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(token.as_str()));
        let Some(path) = found else {
            return Err(AgentError::Usage(t::upload_not_found().into()));
        };
        let result = crate::import::import_file_with(s, upt, &path, Default::default());
        let _ = std::fs::remove_file(&path);
        let report = result?;
        crate::identity::note_event(
            s,
            "import",
            &t::event_imported(
                report.rows,
                crate::text::agent::import_kind(&format!("{:?}", report.kind).to_lowercase()),
                &name,
            ),
        );
        Ok(report)
    };
    Ok(state
        .change(&op, "/impor", import, |r| t::rows_imported(r.rows))
        .await)
}
