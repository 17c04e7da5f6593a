//! What an operator records: products, stock, sales, trainings and participants, written to
//! the UPT's document. Used by the command line and the inbox alike; every function works
//! offline.

use crate::identity;
use crate::text::agent as text;
use karya_shared::input;
use karya_shared::localtime::thousands;
use karya_shared::model::*;
use karya_shared::schema::{self, DocId, SchemaError};
use karya_shared::{Store, StoreError, views};
use rusqlite::{OptionalExtension, params};
use time::Date;

fn upt_doc(upt: &str) -> DocId {
    DocId::Upt(upt.to_string())
}

/// The product and training categories in force: the `national` document's, or the
/// built-in lists before the first sync.
pub fn categories(store: &mut Store, training: bool) -> Result<Vec<String>, StoreError> {
    store.with_doc(&DocId::National, |national| {
        schema::categories(Some(national), training)
    })
}

/// The categories in force as (slug, name people read), to match what an operator typed.
pub fn category_choices(
    store: &mut Store,
    training: bool,
) -> Result<Vec<(String, String)>, StoreError> {
    store.with_doc(&DocId::National, |national| {
        schema::category_choices(Some(national), training)
    })
}

/// Resolves a record id, or a unique prefix of one (at least 6 characters), in one of the
/// UPT's materialized tables.
fn resolve(
    store: &Store,
    upt: &str,
    kind: &'static str,
    table: &str,
    id: &str,
) -> Result<String, StoreError> {
    let not_found = || {
        StoreError::Schema(SchemaError::NotFound {
            kind,
            id: id.to_string(),
        })
    };
    let conn = store.conn();
    if id.len() >= 6 {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id FROM {table} WHERE upt = ?1 AND substr(id, 1, length(?2)) = ?2 LIMIT 2"
        ))?;
        let ids: Vec<String> = stmt
            .query_map(params![upt, id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [one] => return Ok(one.clone()),
            [] => {}
            _ => return Err(ValidationError::new("id", text::id_ambiguous(id, kind)).into()),
        }
    }
    // By its name, as an operator's sheet names it (no one has the ids in Excel): the one
    // record of that name in the UPT, whatever its case and spaces around it.
    let name_column = match table {
        "products" => "name",
        "trainings" => "program",
        _ => return Err(not_found()),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM {table} WHERE upt = ?1 AND deleted = 0 AND lower(trim({name_column})) = lower(trim(?2)) LIMIT 2"
    ))?;
    let ids: Vec<String> = stmt
        .query_map(params![upt, id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(not_found()),
        _ => Err(ValidationError::new("id", text::name_ambiguous(id, kind)).into()),
    }
}

pub fn resolve_product(store: &Store, upt: &str, id: &str) -> Result<String, StoreError> {
    resolve(store, upt, "product", "products", id)
}

pub fn resolve_training(store: &Store, upt: &str, id: &str) -> Result<String, StoreError> {
    resolve(store, upt, "training", "trainings", id)
}

/// The fields a product must be given (on the command line, in the console's form).
pub const REQUIRED: &[&str] = &["name", "category", "price_idr"];

/// A new product as an operator gives it: any fields of its declaration (unset ones keep
/// their defaults, the unit `pcs`), and the stock it starts with.
#[derive(Debug, Clone, Default)]
pub struct NewProduct {
    pub fields: ProductPatch,
    pub stock: i64,
}

impl NewProduct {
    pub fn into_product(self) -> Product {
        let now = now_rfc3339();
        let mut p = Product {
            id: new_id().into(),
            stock: self.stock,
            created_at: now.clone(),
            updated_at: now,
            ..Default::default()
        };
        self.fields.apply_to(&mut p);
        p.name = p.name.trim().to_string();
        p.category = p.category.trim().to_string();
        if p.unit.trim().is_empty() {
            p.unit = "pcs".into();
        }
        p
    }
}

/// Records per Automerge change of an import: 100 products are about 6 KB on the wire, so a
/// sync's parts fit a 2 KB/s link within a 20 s request timeout (one change is never split
/// across parts; a 1,500-row import as one change was 84 KB and never crossed such a link).
pub const PRODUCTS_PER_CHANGE: usize = 100;

/// Adds products in one local transaction (their categories matched to the catalogue's, see
/// [`input::match_choice`]), as changes of at most [`PRODUCTS_PER_CHANGE`] products, returning
/// them as stored; `note` (key, value) pairs are stored in `meta` in the same transaction
/// (an import's file hash).
pub fn add_products(
    store: &mut Store,
    upt: &str,
    products: &[Product],
    note: &[(String, String)],
) -> Result<Vec<Product>, StoreError> {
    let cats = category_choices(store, false)?;
    let slugs: Vec<&str> = cats.iter().map(|(s, _)| s.as_str()).collect();
    let mut products = products.to_vec();
    for p in &mut products {
        p.category = input::match_choice("category", &p.category, &cats)?;
        p.validate(&slugs)?;
    }
    store.change_in_parts(
        &upt_doc(upt),
        note,
        &products,
        PRODUCTS_PER_CHANGE,
        schema::insert_product,
    )?;
    Ok(products)
}

/// Adds one product; returns it as stored (its category as the catalogue names it).
pub fn add_product(store: &mut Store, upt: &str, new: NewProduct) -> Result<Product, StoreError> {
    let mut added = add_products(store, upt, &[new.into_product()], &[])?;
    Ok(added.remove(0))
}

pub fn edit_product(
    store: &mut Store,
    upt: &str,
    id: &str,
    patch: &ProductPatch,
) -> Result<String, StoreError> {
    if patch.is_empty() {
        return Err(ValidationError::new("edit", text::nothing_to_change()).into());
    }
    let patch = checked_patch(store, patch)?;
    let id = resolve_product(store, upt, id)?;
    store.change(&upt_doc(upt), |d| {
        schema::edit_product(d, &id, &patch, &now_rfc3339())
    })?;
    Ok(id)
}

/// `patch` with its category matched to the catalogue's as people type it, and checked.
fn checked_patch(store: &mut Store, patch: &ProductPatch) -> Result<ProductPatch, StoreError> {
    let cats = category_choices(store, false)?;
    let mut patch = patch.clone();
    if let Some(c) = &patch.category {
        patch.category = Some(input::match_choice("category", c, &cats)?);
    }
    let slugs: Vec<&str> = cats.iter().map(|(s, _)| s.as_str()).collect();
    patch.validate(&slugs)?;
    Ok(patch)
}

/// Edits a product (when `patch` changes anything) and nominates it again, in one change:
/// what a UPT does with a product its Kanwil sent back.
pub fn edit_and_renominate(
    store: &mut Store,
    upt: &str,
    id: &str,
    patch: &ProductPatch,
) -> Result<String, StoreError> {
    let patch = checked_patch(store, patch)?;
    let id = resolve_product(store, upt, id)?;
    store.change(&upt_doc(upt), |d| {
        let now = now_rfc3339();
        if !patch.is_empty() {
            schema::edit_product(d, &id, &patch, &now)?;
        }
        schema::renominate(d, &id, &now)
    })?;
    Ok(id)
}

/// What a product's curation went through, oldest first (the UPT's curation document, as
/// the hub wrote it).
pub fn curation_history(
    store: &Store,
    upt: &str,
    id: &str,
) -> Result<Vec<schema::Step>, StoreError> {
    store.with_doc(&DocId::Curation(upt.to_string()), |d| {
        schema::history(d, id)
    })
}

/// Adds photos to a product: each file is cleaned and shrunk (see [`crate::photos`]) and
/// stored before the record names it. All files or none: one that cannot be read stops
/// the command before the record changes.
pub fn add_photos(
    store: &mut Store,
    data_dir: &std::path::Path,
    upt: &str,
    id: &str,
    files: &[std::path::PathBuf],
    caption: &str,
) -> Result<Vec<Photo>, crate::AgentError> {
    let id = resolve_product(store, upt, id)?;
    let mut added = Vec::with_capacity(files.len());
    for file in files {
        added.push(crate::photos::add(data_dir, file, caption)?);
    }
    let current = current_photos(store, upt, &id)?;
    let mut photos = current.clone();
    for p in &added {
        if !photos.iter().any(|q| q.hash == p.hash) {
            photos.push(p.clone());
        }
    }
    let patch = ProductPatch {
        photos: Some(photos),
        ..Default::default()
    };
    patch.validate(&[]).map_err(StoreError::from)?;
    store.change(&upt_doc(upt), |d| {
        schema::edit_product(d, &id, &patch, &now_rfc3339())
    })?;
    Ok(added)
}

/// Removes one photo (by its hash or a unique start of it) from a product; the blob stays
/// until nothing names it.
pub fn remove_photo(
    store: &mut Store,
    upt: &str,
    id: &str,
    hash: &str,
) -> Result<Photo, crate::AgentError> {
    let id = resolve_product(store, upt, id)?;
    let mut photos = current_photos(store, upt, &id)?;
    let hash = hash.trim().to_lowercase();
    let matching: Vec<usize> = (0..photos.len())
        .filter(|&i| !hash.is_empty() && photos[i].hash.starts_with(&hash))
        .collect();
    let at = match matching.as_slice() {
        [i] => *i,
        [] => {
            return Err(crate::AgentError::Usage(text::no_such_photo(&id, &hash)));
        }
        _ => {
            return Err(crate::AgentError::Usage(text::photo_ambiguous(
                &hash,
                matching.len(),
                &id,
            )));
        }
    };
    let gone = photos.remove(at);
    let patch = ProductPatch {
        photos: Some(photos),
        ..Default::default()
    };
    store.change(&upt_doc(upt), |d| {
        schema::edit_product(d, &id, &patch, &now_rfc3339())
    })?;
    Ok(gone)
}

fn current_photos(store: &Store, upt: &str, id: &str) -> Result<Vec<Photo>, StoreError> {
    Ok(store
        .with_doc(&upt_doc(upt), |d| schema::read_product(d, id))?
        .map(|(p, _)| p.photos)
        .unwrap_or_default())
}

pub fn remove_product(store: &mut Store, upt: &str, id: &str) -> Result<String, StoreError> {
    let id = resolve_product(store, upt, id)?;
    store.change(&upt_doc(upt), |d| {
        schema::delete_product(d, &id, &now_rfc3339())
    })?;
    Ok(id)
}

pub fn add_stock(
    store: &mut Store,
    upt: &str,
    id: &str,
    delta: i64,
) -> Result<(String, i64), StoreError> {
    let id = resolve_product(store, upt, id)?;
    let stock = store.change(&upt_doc(upt), |d| {
        schema::add_stock(d, &id, delta, &now_rfc3339())
    })?;
    Ok((id, stock))
}

/// A product's stock as the replica holds it.
pub fn stock(store: &Store, upt: &str, id: &str) -> Result<i64, StoreError> {
    Ok(store.conn().query_row(
        "SELECT stock FROM products WHERE upt = ?1 AND id = ?2",
        params![upt, id],
        |r| r.get(0),
    )?)
}

/// A product that sales would take below zero: what the operator is warned of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub product: String,
    pub stock: i64,
    /// What the sales take from it.
    pub sold: i64,
}

impl Shortfall {
    /// The stock after the sales (below zero).
    pub fn after(&self) -> i64 {
        self.stock - self.sold
    }

    /// One line per product, in the operator's words.
    pub fn describe(all: &[Shortfall]) -> String {
        all.iter()
            .map(|s| {
                crate::text::agent::stock_below_zero(
                    &s.product,
                    &thousands(s.stock),
                    &thousands(s.sold),
                    &thousands(s.after()),
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The products `sales` would take below zero stock, each once with what all the sales take.
pub fn stock_shortfalls(
    store: &Store,
    upt: &str,
    sales: &[Sale],
) -> Result<Vec<Shortfall>, StoreError> {
    let mut taken: Vec<(&str, i64)> = Vec::new();
    for s in sales {
        match taken.iter_mut().find(|(p, _)| *p == s.product_id.as_str()) {
            Some((_, n)) => *n += s.stock_taken.0,
            None => taken.push((s.product_id.as_str(), s.stock_taken.0)),
        }
    }
    let conn = store.conn();
    let mut stmt =
        conn.prepare_cached("SELECT name, stock FROM products WHERE upt = ?1 AND id = ?2")?;
    let mut out = Vec::new();
    for (product, sold) in taken {
        let found: Option<(String, i64)> = stmt
            .query_row(params![upt, product], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((name, stock)) = found
            && stock - sold < 0
        {
            out.push(Shortfall {
                product: name,
                stock,
                sold,
            });
        }
    }
    Ok(out)
}

/// Adds sales in one change (`note` as for [`add_products`]), each taking its quantity from
/// its product's stock. A sale that would take a stock below zero is refused, naming the
/// product and the stock, unless `below_zero` (the operator saw the warning and confirmed).
pub fn add_sales(
    store: &mut Store,
    upt: &str,
    sales: &[Sale],
    note: &[(String, String)],
    below_zero: bool,
) -> Result<(), StoreError> {
    for s in sales {
        s.validate()?;
    }
    if !below_zero {
        let short = stock_shortfalls(store, upt, sales)?;
        if !short.is_empty() {
            return Err(ValidationError::new(
                "stock",
                crate::text::agent::sale_would_go_below_zero(&Shortfall::describe(&short)),
            )
            .into());
        }
    }
    let now = now_rfc3339();
    store.change_in_parts(&upt_doc(upt), note, sales, PRODUCTS_PER_CHANGE, |d, s| {
        schema::insert_sale(d, s)?;
        if s.stock_taken.0 > 0 {
            schema::take_stock(d, &s.product_id, s.stock_taken.0, &now)?;
        }
        Ok(())
    })
}

pub fn new_sale(
    product_id: String,
    quantity: i64,
    revenue_idr: i64,
    date: Option<Date>,
    channel: Option<SaleChannel>,
) -> Sale {
    Sale {
        id: new_id().into(),
        product_id: product_id.into(),
        date: date.unwrap_or_else(today_date),
        quantity,
        revenue_idr,
        channel: channel.unwrap_or(SaleChannel::Toko),
        created_at: now_rfc3339(),
        stock_taken: karya_shared::model::Rounds(quantity),
    }
}

/// A sale with its product's name, for lists.
#[derive(Debug, Clone)]
pub struct SaleLine {
    pub sale: Sale,
    pub product_name: String,
}

/// The UPT's products, with their curation, by name (the replica holds one UPT's).
pub fn products(store: &Store, upt: &str) -> Result<Vec<views::ProductRow>, StoreError> {
    views::products(
        &mut karya_shared::sql::Sql::Lite(&store.conn()),
        &views::ProductFilter {
            upt: Some(upt.to_string()),
            ..Default::default()
        },
    )
}

/// One page of the UPT's products in name order, after the product `after` (name, id):
/// those whose name or description holds every word of `q` (or the one product whose id
/// starts with `q`, 6 characters or more), of category `category` when given.
pub fn products_page(
    store: &Store,
    upt: &str,
    q: &str,
    category: &str,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<views::Page<views::ProductRow, views::ProductCursor>, StoreError> {
    let q = q.trim();
    let mut sql = karya_shared::sql::Sql::Lite(&store.conn());
    let id_like = q.len() >= 6 && q.chars().all(|c| c.is_ascii_hexdigit());
    if id_like && let Ok(id) = resolve_product(store, upt, q) {
        let items = views::products_by_id(&mut sql, &id, Some(upt))?;
        return Ok(views::Page {
            total: items.len() as i64,
            items,
            next: None,
        });
    }
    let filter = views::ProductFilter {
        upt: Some(upt.to_string()),
        category: (!category.is_empty()).then(|| category.to_string()),
        text: (!q.is_empty()).then(|| q.to_string()),
        ..Default::default()
    };
    let after = after.map(|(name, id)| views::ProductCursor {
        upt: upt.to_string(),
        name,
        id,
    });
    views::products_page(&mut sql, &filter, after.as_ref(), limit)
}

/// The UPT's products its Kanwil sent back, not nominated again yet: what awaits the
/// operator.
pub fn sent_back(store: &Store, upt: &str) -> Result<Vec<views::ProductRow>, StoreError> {
    views::products(
        &mut karya_shared::sql::Sql::Lite(&store.conn()),
        &views::ProductFilter {
            upt: Some(upt.to_string()),
            queue: Some(views::Queue::SentBack),
            ..Default::default()
        },
    )
}

/// One sale of the UPT with its product's name (an id, or the first 6+ characters of it).
pub fn sale(store: &Store, upt: &str, id: &str) -> Result<SaleLine, StoreError> {
    let id = resolve(store, upt, "sale", "sales", id)?;
    let conn = store.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT s.*, COALESCE(p.name, '') AS product_name FROM sales s
         LEFT JOIN products p ON p.upt = s.upt AND p.id = s.product_id
         WHERE s.upt = ?1 AND s.id = ?2",
    )?;
    Ok(stmt.query_row(params![upt, id], |r| {
        Ok(SaleLine {
            sale: Sale::from_row(r)?,
            product_name: r.get("product_name")?,
        })
    })?)
}

/// The UPT's latest sales (by date, then when recorded), at most `n`.
pub fn recent_sales(store: &Store, upt: &str, n: usize) -> Result<Vec<SaleLine>, StoreError> {
    let conn = store.conn();
    let mut stmt = conn.prepare(
        "SELECT s.*, COALESCE(p.name, '') AS product_name FROM sales s
         LEFT JOIN products p ON p.upt = s.upt AND p.id = s.product_id
         WHERE s.upt = ?1 ORDER BY s.date DESC, s.created_at DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![upt, n as i64], |r| {
            Ok(SaleLine {
                sale: Sale::from_row(r)?,
                product_name: r.get("product_name")?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Where a page of sales starts: after this (date, recorded at, id), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleCursor {
    pub date: String,
    pub created_at: String,
    pub id: String,
}

/// One page of the UPT's sales, newest first, after `after`: those whose product's name
/// holds `q` (any case) when given; with how many there are in all, and where the next page
/// starts.
pub fn sales_page(
    store: &Store,
    upt: &str,
    q: &str,
    after: Option<&SaleCursor>,
    limit: usize,
) -> Result<(Vec<SaleLine>, i64, Option<SaleCursor>), StoreError> {
    let conn = store.conn();
    let pattern = format!("%{}%", q.trim().to_lowercase().replace(['%', '_'], ""));
    let from = "FROM sales s LEFT JOIN products p ON p.upt = s.upt AND p.id = s.product_id
         WHERE s.upt = ?1 AND lower(COALESCE(p.name, '')) LIKE ?2";
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) {from}"),
        params![upt, pattern],
        |r| r.get(0),
    )?;
    let (date, created, id) = match after {
        Some(a) => (a.date.clone(), a.created_at.clone(), a.id.clone()),
        None => ("9999-12-31".into(), "\u{10FFFF}".into(), String::new()),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.*, COALESCE(p.name, '') AS product_name {from}
           AND (s.date, s.created_at, s.id) < (?3, ?4, ?5)
         ORDER BY s.date DESC, s.created_at DESC, s.id DESC LIMIT ?6"
    ))?;
    let mut rows: Vec<SaleLine> = stmt
        .query_map(
            params![upt, pattern, date, created, id, limit as i64 + 1],
            |r| {
                Ok(SaleLine {
                    sale: Sale::from_row(r)?,
                    product_name: r.get("product_name")?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|l| SaleCursor {
            date: l.sale.date.to_string(),
            created_at: l.sale.created_at.clone(),
            id: l.sale.id.to_string(),
        })
    } else {
        None
    };
    Ok((rows, total, next))
}

/// The UPT's products most recently changed (id, name), at most `n`: what the sale form
/// offers while the operator types (any other product is found by its name or id).
pub fn recent_products(
    store: &Store,
    upt: &str,
    n: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let conn = store.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT id, name FROM products WHERE upt = ?1 AND deleted = 0
         ORDER BY updated_at DESC, id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![upt, n as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Removes a sale entered by mistake (by id, or a unique start of it) and gives its product
/// back the stock it took; returns that product's stock now (`None`: the sale took none,
/// or its product is gone).
pub fn remove_sale(store: &mut Store, upt: &str, id: &str) -> Result<Option<i64>, StoreError> {
    let line = sale(store, upt, id)?;
    let sale = line.sale;
    store.change(&upt_doc(upt), |d| {
        schema::delete_sale(d, &sale.id)?;
        if sale.stock_taken.0 > 0 && schema::read_product(d, &sale.product_id).is_some() {
            return schema::take_stock(d, &sale.product_id, -sale.stock_taken.0, &now_rfc3339())
                .map(Some);
        }
        Ok(None)
    })
}

pub fn add_trainings(
    store: &mut Store,
    upt: &str,
    trainings: &[Training],
    note: &[(String, String)],
) -> Result<(), StoreError> {
    let cats = category_choices(store, true)?;
    let slugs: Vec<&str> = cats.iter().map(|(s, _)| s.as_str()).collect();
    let mut trainings = trainings.to_vec();
    for t in &mut trainings {
        t.category = input::match_choice("category", &t.category, &cats)?;
        t.validate(&slugs)?;
    }
    store.change_in_parts(
        &upt_doc(upt),
        note,
        &trainings,
        PRODUCTS_PER_CHANGE,
        schema::insert_training,
    )
}

#[derive(Debug, Clone)]
pub struct NewTraining {
    pub program: String,
    pub category: String,
    pub start: Date,
    pub end: Date,
    pub hours: i64,
    pub partner: String,
    pub instructor: String,
    pub capacity: i64,
    pub scheme: String,
}

impl NewTraining {
    pub fn into_training(self) -> Training {
        let now = now_rfc3339();
        Training {
            id: new_id().into(),
            program: self.program.trim().to_string(),
            category: self.category.trim().to_string(),
            partner: self.partner,
            start_date: self.start,
            end_date: self.end,
            hours: self.hours,
            instructor: self.instructor,
            capacity: self.capacity,
            scheme: self.scheme,
            created_at: now.clone(),
            updated_at: now,
            deleted: false,
        }
    }
}

/// Enrols an inmate in a training: the name and registration number go to the local
/// identity table; the document gets the pseudonym only.
pub fn enroll(
    store: &mut Store,
    upt: &str,
    training: &str,
    reg_no: &str,
    name: &str,
) -> Result<String, StoreError> {
    if reg_no.trim().is_empty() {
        return Err(ValidationError::new("reg-no", karya_shared::text::input::empty()).into());
    }
    if name.trim().is_empty() {
        return Err(ValidationError::new("name", karya_shared::text::input::empty()).into());
    }
    let training = resolve_training(store, upt, training)?;
    identity::check_secret_fits(store)?;
    let pseudonym = karya_shared::pseudonym::pseudonym(&identity::secret(store)?, reg_no);
    // The same person twice is one enrolment: say so rather than enrol them "again".
    let doc = upt_doc(upt);
    let enrolled = store.with_doc(&doc, |d| schema::read_participant(d, &training, &pseudonym))?;
    if enrolled.is_some() {
        return Err(ValidationError::new("reg-no", text::already_enrolled(reg_no)).into());
    }
    // A training with a capacity takes no more than it: those who dropped out leave room.
    let (program, capacity, taken) = places(store, upt, &training)?;
    if capacity > 0 && taken >= capacity {
        return Err(ValidationError::new(
            "capacity",
            text::training_full(&program, taken, capacity),
        )
        .into());
    }
    let pseudonym = identity::remember(store, reg_no, name)?;
    let p = Participant {
        training_id: training.into(),
        pseudonym: pseudonym.clone(),
        enrolled_at: today(),
        hours_attended: 0,
        status: ParticipantStatus::Enrolled,
        certificate: String::new(),
    };
    p.validate()?;
    store.change(&upt_doc(upt), |d| schema::upsert_participant(d, &p))?;
    Ok(pseudonym)
}

/// A training's programme, its capacity (0: none) and the places taken (those who dropped
/// out leave theirs).
fn places(store: &Store, upt: &str, training: &str) -> Result<(String, i64, i64), StoreError> {
    Ok(store.conn().query_row(
        "SELECT t.program, t.capacity,
                (SELECT COUNT(*) FROM participants p
                 WHERE p.upt = t.upt AND p.training_id = t.id AND p.status <> 'dropped')
         FROM trainings t WHERE t.upt = ?1 AND t.id = ?2",
        params![upt, training],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Enrols every row of a sheet (row number, training id, registration number, name), all
/// or none: each is checked first (the secret, a second enrolment, the training's capacity
/// with the sheet's own rows counted), then all go in one change. The error names the row.
pub fn enroll_many(
    store: &mut Store,
    upt: &str,
    rows: &[(usize, &str, &str, &str)],
    note: &[(String, String)],
) -> Result<Vec<String>, (usize, StoreError)> {
    let first = rows.first().map(|r| r.0).unwrap_or(0);
    identity::check_secret_fits(store).map_err(|e| (first, e))?;
    let secret = identity::secret(store).map_err(|e| (first, e))?;
    let doc = upt_doc(upt);
    let mut taking: std::collections::HashMap<&str, i64> = Default::default();
    for &(row, training, reg_no, _) in rows {
        let pseudonym = karya_shared::pseudonym::pseudonym(&secret, reg_no);
        let enrolled = store
            .with_doc(&doc, |d| schema::read_participant(d, training, &pseudonym))
            .map_err(|e| (row, e))?;
        if enrolled.is_some() {
            return Err((
                row,
                ValidationError::new("reg-no", text::already_enrolled(reg_no)).into(),
            ));
        }
        let (program, capacity, taken) = places(store, upt, training).map_err(|e| (row, e))?;
        let n = taking.entry(training).or_default();
        *n += 1;
        if capacity > 0 && taken + *n > capacity {
            return Err((
                row,
                ValidationError::new(
                    "capacity",
                    text::training_full(&program, taken + *n - 1, capacity),
                )
                .into(),
            ));
        }
    }
    let mut participants = Vec::with_capacity(rows.len());
    for &(row, training, reg_no, name) in rows {
        let pseudonym = identity::remember(store, reg_no, name).map_err(|e| (row, e))?;
        let p = Participant {
            training_id: training.into(),
            pseudonym,
            enrolled_at: today(),
            hours_attended: 0,
            status: ParticipantStatus::Enrolled,
            certificate: String::new(),
        };
        p.validate().map_err(|e| (row, e.into()))?;
        participants.push(p);
    }
    store
        .change_in_parts(&doc, note, &participants, PRODUCTS_PER_CHANGE, |d, p| {
            schema::upsert_participant(d, p)
        })
        .map_err(|e| (first, e))?;
    Ok(participants.into_iter().map(|p| p.pseudonym).collect())
}

/// Marks a participant as having completed a training.
pub fn complete(
    store: &mut Store,
    upt: &str,
    training: &str,
    reg_no: &str,
    certificate: Option<String>,
) -> Result<String, StoreError> {
    let training = resolve_training(store, upt, training)?;
    identity::check_secret_fits(store)?;
    let pseudonym = karya_shared::pseudonym::pseudonym(&identity::secret(store)?, reg_no);
    let doc = upt_doc(upt);
    let (existing, hours) = store.with_doc(&doc, |d| {
        (
            schema::read_participant(d, &training, &pseudonym),
            schema::read_training(d, &training).map(|(t, _)| t.hours),
        )
    })?;
    let Some(mut p) = existing else {
        return Err(ValidationError::new("reg-no", text::no_participant(reg_no)).into());
    };
    p.status = ParticipantStatus::Completed;
    p.hours_attended = p.hours_attended.max(hours.unwrap_or(0));
    if let Some(c) = certificate {
        p.certificate = c;
    }
    store.change(&doc, |d| schema::upsert_participant(d, &p))?;
    Ok(pseudonym)
}
