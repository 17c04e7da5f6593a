//! Produk: the list, adding and editing a product, its stock and its photos.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct ProductQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kategori: String,
    /// Where the page starts: after the product of this name and id (the list's order).
    #[serde(default)]
    setelah_nama: String,
    #[serde(default)]
    setelah_id: String,
}

/// Products on one page of the list: a UPT of 10,000 products gets pages of about 40 KB.
pub(super) const PRODUCTS_PER_PAGE: usize = 100;

pub(super) async fn products(
    State(state): State<Shared>,
    op: Operator,
    Query(q): Query<ProductQuery>,
) -> Result<Response, PageError> {
    let needle = q.q.trim().to_string();
    let kategori = q.kategori.clone();
    let after = (!q.setelah_id.is_empty()).then(|| (q.setelah_nama.clone(), q.setelah_id.clone()));
    let (page, cats) = state
        .with_store(move |store, upt, _| {
            Ok((
                records::products_page(store, upt, &needle, &kategori, after, PRODUCTS_PER_PAGE)?,
                records::category_choices(store, false)?,
            ))
        })
        .await?;
    let flash = state.take_flash(&op);
    let shown = pages::ProductList {
        q: &q.q,
        kategori: &q.kategori,
        first: q.setelah_id.is_empty(),
    };
    Ok(html(pages::products(&op, &page, &cats, &shown, flash)))
}

/// The product form: every field an edit may change, named as declared (`name`,
/// `price_idr`, …; see [`form_fields`]), and the stock a new product starts with.
#[derive(Deserialize, Default, Clone)]
pub struct ProductForm {
    pub csrf: String,
    #[serde(default)]
    pub stok: String,
    #[serde(flatten)]
    pub fields: std::collections::BTreeMap<String, String>,
}

impl ProductForm {
    /// The form showing a stored product.
    pub fn of(p: &karya_shared::model::Product) -> ProductForm {
        ProductForm {
            fields: form_fields()
                .filter_map(|(field, _)| Some((field.to_string(), p.input_text(field)?)))
                .collect(),
            ..Default::default()
        }
    }

    pub fn get(&self, field: &str) -> &str {
        self.fields.get(field).map(String::as_str).unwrap_or("")
    }

    /// Folds the certification rows the form shows (`sert_jenis_N`, `sert_nomor_N`,
    /// `sert_berlaku_N`, `sert_hapus_N`) into the `certifications` field as typed input
    /// (`halal:ID…:31/01/2028; pirt:…`): a row without a kind, or ticked to go, is left out.
    pub fn fold_certifications(&mut self) {
        if !self.fields.keys().any(|k| k.starts_with("sert_")) {
            return;
        }
        let mut rows = Vec::new();
        for n in 0..MAX_CERTIFICATION_ROWS {
            let get = |what: &str| {
                self.fields
                    .get(&format!("sert_{what}_{n}"))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            let (kind, number, until) = (get("jenis"), get("nomor"), get("berlaku"));
            if kind.is_empty() || get("hapus") == "ya" {
                continue;
            }
            rows.push(if until.is_empty() {
                format!("{kind}:{number}")
            } else {
                format!("{kind}:{number}:{until}")
            });
        }
        self.fields.retain(|k, _| !k.starts_with("sert_"));
        self.fields.insert("certifications".into(), rows.join("; "));
    }
}

/// Certification rows a product form takes (its own and one empty for a new one, at most
/// the 20 a product may hold).
pub const MAX_CERTIFICATION_ROWS: usize = 21;

/// The product's fields a form shows, with their declared types, in declaration order: all
/// an edit may change except the photos (files, with a form of their own).
pub fn form_fields() -> impl Iterator<Item = (&'static str, &'static str)> {
    karya_shared::model::Product::EDIT_TYPES
        .iter()
        .copied()
        .filter(|(field, _)| *field != "photos")
}

pub(super) async fn add_product(
    State(state): State<Shared>,
    Posted(op, mut f): Posted<ProductForm>,
) -> Result<Response, PageError> {
    f.fold_certifications();
    let parsed = (|| -> Result<records::NewProduct, String> {
        Ok(records::NewProduct {
            fields: fields_of(&f)?,
            stock: whole(t::stock(), &f.stok, Some(0))?,
        })
    })();
    let result = match parsed {
        Err(e) => Err(e),
        Ok(new) => state
            .with_store(move |s, upt, _| Ok(records::add_product(s, upt, new)?))
            .await
            .map_err(|e| pages::in_words(&e)),
    };
    match result {
        Ok(p) => {
            state.flash(&op, pages::Flash::good(&t::product_added(&p.name)));
            Ok(Redirect::to("/produk").into_response())
        }
        Err(message) => {
            let cats = state
                .with_store(|s, _, _| Ok(records::category_choices(s, false)?))
                .await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(pages::product_form(&op, None, &f, &cats, Some(&message)).into_string()),
            )
                .into_response())
        }
    }
}

pub(super) async fn product(
    State(state): State<Shared>,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let found = state
        .with_store(move |s, upt, _| {
            let id = records::resolve_product(s, upt, &id)?;
            let row =
                karya_shared::views::product(&mut karya_shared::sql::Sql::Lite(&s.conn()), &id)?;
            let history = records::curation_history(s, upt, &id)?;
            Ok((row, records::category_choices(s, false)?, history))
        })
        .await;
    let (Some(row), cats, history) = found.map_err(|_| not_found())? else {
        return Err(not_found());
    };
    let flash = state.take_flash(&op);
    Ok(html(pages::product_page(&op, &row, &cats, &history, flash)))
}

pub(super) fn not_found() -> PageError {
    PageError(StatusCode::NOT_FOUND, t::product_not_found().into())
}

pub(super) async fn edit_product(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, mut f): Posted<ProductForm>,
) -> Result<Response, PageError> {
    f.fold_certifications();
    let patch = fields_of(&f);
    let to = format!("/produk/{id}");
    // A failed edit shows the form with what was typed (a box left unticked as no).
    let typed: Vec<(String, String)> = form_fields()
        .map(|(field, _)| (field.to_string(), f.get(field).to_string()))
        .collect();
    let patch = match patch {
        Ok(patch) => patch,
        Err(e) => return Ok(state.refuse_keeping(&op, &to, &e, typed)),
    };
    if f.get("usulkan_lagi") == "ya" {
        let edit = move |s: &mut Store, upt: &str, _: &Paths| {
            Ok(records::edit_and_renominate(s, upt, &id, &patch)?)
        };
        return Ok(state
            .change_keeping(&op, &to, typed, edit, |_| t::proposed_again_saved().into())
            .await);
    }
    let edit =
        move |s: &mut Store, upt: &str, _: &Paths| Ok(records::edit_product(s, upt, &id, &patch)?);
    Ok(state
        .change_keeping(&op, &to, typed, edit, |_| t::changes_saved().into())
        .await)
}

#[derive(Deserialize)]
pub(super) struct StockForm {
    csrf: String,
    jumlah: String,
    arah: String,
}

pub(super) async fn stock(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, f): Posted<StockForm>,
) -> Result<Response, PageError> {
    let to = format!("/produk/{id}");
    let n = match whole(t::quantity(), &f.jumlah, None) {
        Ok(n) => n,
        Err(e) => return Ok(state.refuse(&op, &to, &e)),
    };
    let delta = if f.arah == "kurang" { -n } else { n };
    let add =
        move |s: &mut Store, upt: &str, _: &Paths| Ok(records::add_stock(s, upt, &id, delta)?);
    Ok(state
        .change(&op, &to, add, |(_, now)| {
            t::stock_now(&karya_shared::localtime::thousands(now))
        })
        .await)
}

/// "Hapus produk" first names the product and asks; confirmed, it goes (a tombstone: its
/// history stays), and the message names it.
pub(super) async fn remove_product(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, f): Posted<ConfirmForm>,
) -> Result<Response, PageError> {
    let wanted = id.clone();
    let name = state
        .with_store(move |s, upt, _| {
            let id = records::resolve_product(s, upt, &wanted)?;
            Ok(
                karya_shared::views::product(&mut karya_shared::sql::Sql::Lite(&s.conn()), &id)?
                    .map(|p| p.name.clone()),
            )
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(not_found)?;
    if !f.confirmed() {
        return Ok(html(pages::confirm(
            &op,
            &pages::Confirm {
                title: t::confirm_remove_product_title(),
                nav: "/produk",
                question: &t::confirm_remove_product(&name),
                action: &format!("/produk/{id}/hapus"),
                yes: t::yes_remove(),
                back: &format!("/produk/{id}"),
            },
        )));
    }
    let remove =
        move |s: &mut Store, upt: &str, _: &Paths| Ok(records::remove_product(s, upt, &id)?);
    Ok(state
        .change(&op, "/produk", remove, move |_| t::product_removed(&name))
        .await)
}

/// Photos added from the product page: cleaned and shrunk as with `product photo add`.
pub(super) async fn add_photos(
    State(state): State<Shared>,
    op: Operator,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let mut caption = String::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("keterangan") => caption = field.text().await.unwrap_or_default(),
            Some("foto") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    PageError(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        t::photo_unreadable(&e.to_string()),
                    )
                })?;
                if !bytes.is_empty() {
                    files.push((name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    csrf_ok(&op, &csrf)?;
    let to = format!("/produk/{id}");
    if files.is_empty() {
        return Ok(state.refuse(&op, &to, t::choose_photo()));
    }
    let add = move |s: &mut Store, upt: &str, paths: &Paths| {
        std::fs::create_dir_all(paths.uploads()).map_err(|e| AgentError::Io(e.to_string()))?;
        let mut saved = Vec::new();
        for (name, bytes) in &files {
            let ext = std::path::Path::new(name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("jpg")
                .to_lowercase();
            let path = upload_path(paths, &random_id(), &ext);
            std::fs::write(&path, bytes).map_err(|e| AgentError::Io(e.to_string()))?;
            saved.push(path);
        }
        let added = records::add_photos(s, &paths.dir, upt, &id, &saved, caption.trim());
        for p in &saved {
            let _ = std::fs::remove_file(p);
        }
        added
    };
    Ok(state
        .change(&op, &to, add, |added| t::photos_added(added.len()))
        .await)
}

pub(super) async fn remove_photo(
    State(state): State<Shared>,
    Path((id, hash)): Path<(String, String)>,
    Posted(op, f): Posted<ConfirmForm>,
) -> Result<Response, PageError> {
    let to = format!("/produk/{id}");
    if !f.confirmed() {
        let wanted = id.clone();
        let found = state
            .with_store(move |s, upt, _| {
                let id = records::resolve_product(s, upt, &wanted)?;
                Ok(karya_shared::views::product(
                    &mut karya_shared::sql::Sql::Lite(&s.conn()),
                    &id,
                )?)
            })
            .await
            .ok()
            .flatten()
            .ok_or_else(not_found)?;
        let Some(n) = found.photos.iter().position(|p| p.hash == hash) else {
            return Ok(state.refuse(&op, &to, t::photo_not_found()));
        };
        let photo = &found.photos[n];
        return Ok(html(pages::confirm(
            &op,
            &pages::Confirm {
                title: t::confirm_remove_photo_title(),
                nav: "/produk",
                question: &t::confirm_remove_photo(
                    n + 1,
                    &found.name,
                    &if photo.caption.is_empty() {
                        String::new()
                    } else {
                        format!(" (“{}”)", photo.caption)
                    },
                ),
                action: &format!("/produk/{id}/foto/{hash}/hapus"),
                yes: t::yes_remove(),
                back: &to,
            },
        )));
    }
    let remove =
        move |s: &mut Store, upt: &str, _: &Paths| records::remove_photo(s, upt, &id, &hash);
    Ok(state
        .change(&op, &to, remove, |_| t::photo_removed().into())
        .await)
}

/// A photo or thumbnail kept on this PC, for the product page.
pub(super) async fn photo(
    State(state): State<Shared>,
    _op: Operator,
    Path(hash): Path<String>,
) -> Result<Response, PageError> {
    if !karya_shared::model::is_blob_hash(&hash) {
        return Err(PageError(
            StatusCode::NOT_FOUND,
            t::photo_not_found().into(),
        ));
    }
    let path = crate::photos::blob_path(&state.paths.dir, &hash);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| PageError(StatusCode::NOT_FOUND, t::photo_not_found().into()))?;
    let mut r = ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(r)
}

with_csrf!(ProductForm, StockForm);

/// The product's fields as the form gives them, for a new product and an edit alike, each
/// read by its type's rules for typed input (`ProductPatch::set`). An emptied field clears
/// what may be empty; a unit left empty keeps the one there (`pcs` for a new product), and
/// an unticked box is no.
fn fields_of(f: &ProductForm) -> Result<karya_shared::model::ProductPatch, String> {
    let mut patch = karya_shared::model::ProductPatch::default();
    for (field, ty) in form_fields() {
        let text = f.get(field);
        let problem = |reason: &str| t::field_problem(t::form_label(field), reason);
        if records::REQUIRED.contains(&field) && text.trim().is_empty() {
            return Err(problem(&karya_shared::text::input::empty()));
        }
        let read = match (ty, text.trim().is_empty()) {
            ("bool", true) => patch.set(field, "tidak"),
            (_, true) if KEEP_WHEN_EMPTY.contains(&field) => continue,
            _ => patch.set_or_clear(field, text),
        };
        read.map_err(|e| problem(&e.reason))?;
    }
    Ok(patch)
}

/// Fields an emptied form field leaves as they are.
const KEEP_WHEN_EMPTY: &[&str] = &["unit"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the form shows has words of its own, and what a form shows of a product
    /// reads back as the same product.
    #[test]
    fn the_form_is_the_declaration_and_reads_back_what_it_shows() {
        for (field, _) in form_fields() {
            assert_ne!(
                t::form_label(field),
                field,
                "no label for {field} in text/console.rs"
            );
        }
        let p = karya_shared::model::Product {
            name: "Kursi jati".into(),
            category: "furnitur".into(),
            price_idr: 1_250_000,
            unit: "set".into(),
            certifications: vec![
                karya_shared::model::Certification::parse("halal:ID123:31/01/2028").unwrap(),
            ],
            nominated: true,
            ..Default::default()
        };
        let form = ProductForm::of(&p);
        assert_eq!(form.get("price_idr"), "1.250.000");
        assert_eq!(form.get("nominated"), "ya");
        let mut back = karya_shared::model::Product::default();
        fields_of(&form).unwrap().apply_to(&mut back);
        assert_eq!(back, p);

        // Emptied: the description clears, the unit stays, an unticked box is no.
        let mut f = form.clone();
        f.fields.insert("description".into(), String::new());
        f.fields.insert("unit".into(), String::new());
        f.fields.remove("nominated");
        let patch = fields_of(&f).unwrap();
        assert_eq!(patch.description.as_deref(), Some(""));
        assert_eq!(patch.unit, None);
        assert_eq!(patch.nominated, Some(false));

        f.fields.insert("price_idr".into(), "mahal".into());
        let err = fields_of(&f).unwrap_err();
        assert!(err.contains("Harga"), "{err}");
        f.fields.insert("name".into(), " ".into());
        assert!(fields_of(&f).unwrap_err().contains("Nama"));
    }
}
