//! Queries over the materialized tables: what the CLI lists, what the hub's API and dashboard
//! serve. They never load a document.

use crate::model::{Conflicts, CurationDecision, Participant, Product, Training, Verification};
use crate::store::StoreError;
use crate::store::sql::{Sql, SqlRow};
use rusqlite::types::Value;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProductRow {
    pub upt: String,
    /// The product as its document has it (its fields are the row's, flat in JSON).
    #[serde(flatten)]
    pub product: Product,
    /// Values set concurrently on other replicas (winner first); empty when none.
    pub conflicts: Conflicts,
    /// HQ's decision on it, if any.
    pub curation: Option<CurationDecision>,
    /// Its Kanwil's verification, if any.
    pub verification: Option<Verification>,
    /// Created more than a day after the hub's time: the UPT PC's clock is wrong.
    pub future_dated: bool,
}

impl std::ops::Deref for ProductRow {
    type Target = Product;
    fn deref(&self) -> &Product {
        &self.product
    }
}

/// The hub's time plus one day, as RFC 3339: a record stamped later than this was stamped by
/// a clock that is off (a UPT PC's), not by the future.
pub fn future_cutoff() -> (String, String) {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let date = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
    let rfc = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    (date, rfc)
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub upt: Option<String>,
    pub category: Option<String>,
    pub curation: Option<String>,
    pub include_deleted: bool,
    /// Only the UPTs of this Kanwil (the hub's `upts` table).
    pub kanwil: Option<String>,
    /// Only products holding a certification of this kind (`halal`, `pirt` …).
    pub certification: Option<String>,
    /// Words the name or the description holds (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Only the products waiting in this queue.
    pub queue: Option<Queue>,
}

/// The queues of the curation's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Nominated, and not verified by its Kanwil yet (or sent back and nominated again).
    Kanwil,
    /// Verified by its Kanwil, and not decided by HQ yet (or only "in review").
    Hq,
    /// Approved or featured by HQ, and changed at the UPT since.
    Changed,
    /// Sent back by its Kanwil, not nominated again yet: the UPT's to answer.
    SentBack,
}

impl Queue {
    /// The condition on `p` (products), `c` (curation) and `v` (verifications), in the
    /// dialect of `pg` (PostgreSQL's `strpos` for SQLite's `instr`).
    fn condition(self, pg: bool) -> String {
        match self {
            Queue::Kanwil => {
                "p.nominated = 1 AND (v.status IS NULL OR (v.status = 'sent_back' AND p.nominations > v.round))".into()
            }
            Queue::Hq => {
                "p.nominated = 1 AND v.status = 'verified' AND (c.status IS NULL OR c.status IN ('nominated', 'in_review'))".into()
            }
            // The approved photos are their hashes, space-separated: the product's photos
            // (its rows in `product_photos`) are other ones, or more or fewer.
            Queue::Changed => format!(
                "c.status IN ('approved', 'featured') AND c.approved_name <> '' AND (c.approved_name <> p.name OR c.approved_price_idr <> p.price_idr OR c.approved_description <> p.description OR (SELECT COUNT(*) FROM product_photos pp WHERE pp.upt = p.upt AND pp.product_id = p.id AND pp.thumb = 0) <> (LENGTH(c.approved_photos) + 1) / 65 OR EXISTS (SELECT 1 FROM product_photos pp WHERE pp.upt = p.upt AND pp.product_id = p.id AND pp.thumb = 0 AND {}(c.approved_photos, pp.hash) = 0))",
                if pg { "strpos" } else { "instr" }
            ),
            Queue::SentBack => "v.status = 'sent_back' AND p.nominations <= v.round".into(),
        }
    }

    /// The tables a queue is read from, the one it is drawn from first: the decisions' tables
    /// are small beside a national catalogue, so a queue of decided products starts there.
    /// `CROSS JOIN` keeps that order in SQLite (whose planner has no statistics to find it);
    /// the join's condition is [`Queue::on`], in the statement's `WHERE`.
    fn from(self) -> &'static str {
        match self {
            Queue::Kanwil => {
                "products p LEFT JOIN verifications v ON v.upt = p.upt AND v.product_id = p.id LEFT JOIN curation c ON c.upt = p.upt AND c.product_id = p.id"
            }
            Queue::Hq | Queue::SentBack => {
                "verifications v CROSS JOIN products p LEFT JOIN curation c ON c.upt = p.upt AND c.product_id = p.id"
            }
            Queue::Changed => {
                "curation c CROSS JOIN products p LEFT JOIN verifications v ON v.upt = p.upt AND v.product_id = p.id"
            }
        }
    }

    /// The condition joining [`Queue::from`]'s first table to the products.
    fn on(self) -> &'static str {
        match self {
            Queue::Kanwil => "1 = 1",
            Queue::Hq | Queue::SentBack => "p.upt = v.upt AND p.id = v.product_id",
            Queue::Changed => "p.upt = c.upt AND p.id = c.product_id",
        }
    }

    /// Since when a product waits in this queue: since its Kanwil verified it (HQ's queue),
    /// since it was sent back, or since its last edit (nominated, or changed after approval).
    fn waiting_since(self) -> &'static str {
        match self {
            Queue::Hq | Queue::SentBack => "v.decided_at",
            Queue::Kanwil | Queue::Changed => "p.updated_at",
        }
    }
}

/// The joins of a product's decisions, HQ's (`c`) and its Kanwil's (`v`).
const DECISION_JOINS: &str = " LEFT JOIN curation c ON c.upt = p.upt AND c.product_id = p.id LEFT JOIN verifications v ON v.upt = p.upt AND v.product_id = p.id";

/// A product's row with its Kanwil's and HQ's decisions: every column of the three
/// declarations (a field added to one of them is read without a change here).
static PRODUCT_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let product = ["upt"]
        .iter()
        .chain(Product::KEY_COLUMNS)
        .chain(Product::FIELDS)
        .chain(&["conflicts"])
        .map(|c| format!("p.{c}"));
    let decision = CurationDecision::KEY_COLUMNS
        .iter()
        .chain(CurationDecision::FIELDS)
        .map(|c| format!("c.{c}"));
    let verification = Verification::KEY_COLUMNS
        .iter()
        .chain(Verification::FIELDS)
        .map(|c| format!("v.{c} AS v_{c}"));
    let columns: Vec<String> = product.chain(decision).chain(verification).collect();
    columns.join(", ")
});

/// [`PRODUCT_COLUMNS`] with the tables they come from.
static PRODUCT_SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM products p{DECISION_JOINS}",
        *PRODUCT_COLUMNS
    )
});

type Result<T> = std::result::Result<T, StoreError>;

/// The parameters of a statement built with its conditions.
fn refs(args: &[Value]) -> Vec<&dyn rusqlite::ToSql> {
    args.iter().map(|a| a as &dyn rusqlite::ToSql).collect()
}

/// Reads a product row; `cutoff` is [`future_cutoff`]'s time, taken once per query.
fn product_row(cutoff: &str) -> impl Fn(&SqlRow<'_>) -> rusqlite::Result<ProductRow> + '_ {
    move |r| product_row_at(r, cutoff)
}

/// Reads the row of [`PRODUCT_SELECT`], by column name.
fn product_row_at(r: &SqlRow<'_>, cutoff: &str) -> rusqlite::Result<ProductRow> {
    let product = Product::from_row(r)?;
    let status: Option<String> = r.get("status")?;
    let verified: Option<String> = r.get("v_status")?;
    Ok(ProductRow {
        verification: match verified {
            Some(_) => Some(Verification::from_row(&crate::record::Prefixed("v_", r))?),
            None => None,
        },
        upt: r.get("upt")?,
        future_dated: product.created_at.as_str() > cutoff,
        conflicts: serde_json::from_str(&r.get::<_, String>("conflicts")?).unwrap_or_default(),
        curation: match status {
            Some(_) => Some(CurationDecision::from_row(r)?),
            None => None,
        },
        product,
    })
}

pub fn products(c: &mut Sql<'_>, f: &ProductFilter) -> Result<Vec<ProductRow>> {
    let mut args: Vec<Value> = Vec::new();
    let mut sql = format!("{}{}", *PRODUCT_SELECT, product_where(c, f, &mut args));
    sql.push_str(" ORDER BY p.upt, p.name, p.id");
    c.query_map(&sql, refs(&args), product_row(&future_cutoff().1))
}

/// A product by id in a replica that holds one UPT's products (the agent's).
pub fn product(c: &mut Sql<'_>, id: &str) -> Result<Option<ProductRow>> {
    Ok(products_by_id(c, id, None)?.into_iter().next())
}

/// Every product with this id (in one UPT, if given), ordered by UPT. Ids are random, so
/// usually one; a UPT that reuses another's id must not get "one of" them.
pub fn products_by_id(c: &mut Sql<'_>, id: &str, upt: Option<&str>) -> Result<Vec<ProductRow>> {
    c.query_map(
        &format!(
            "{} WHERE p.id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR p.upt = ?2) ORDER BY p.upt",
            *PRODUCT_SELECT
        ),
        rusqlite::params![id, upt],
        product_row(&future_cutoff().1),
    )
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    /// How many items the whole filtered list holds.
    pub total: i64,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<C>,
}

/// Where a page of products starts: after this (UPT, name, id), the list's order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductCursor {
    pub upt: String,
    pub name: String,
    pub id: String,
}

/// Where a page of trainings starts: after this (UPT, start date, id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrainingCursor {
    pub upt: String,
    pub start_date: String,
    pub id: String,
}

fn product_where(c: &Sql<'_>, f: &ProductFilter, args: &mut Vec<Value>) -> String {
    let mut sql = String::from(" WHERE 1=1");
    if !f.include_deleted {
        sql.push_str(" AND p.deleted = 0");
    }
    if let Some(upt) = &f.upt {
        sql.push_str(" AND p.upt = ?");
        args.push(upt.clone().into());
    }
    if let Some(cat) = &f.category {
        sql.push_str(" AND p.category = ?");
        args.push(cat.clone().into());
    }
    if let Some(cur) = &f.curation {
        if cur == "none" {
            sql.push_str(" AND c.status IS NULL");
        } else {
            sql.push_str(" AND c.status = ?");
            args.push(cur.clone().into());
        }
    }
    if let Some(queue) = f.queue {
        sql.push_str(" AND ");
        sql.push_str(queue.on());
        sql.push_str(" AND ");
        sql.push_str(&queue.condition(c.is_pg()));
    }
    if let Some(kanwil) = &f.kanwil {
        sql.push_str(" AND p.upt IN (SELECT code FROM upts WHERE kanwil = ?)");
        args.push(kanwil.clone().into());
    }
    if let Some(kind) = &f.certification {
        // The certifications are a JSON list of {kind, number, valid_until}.
        sql.push_str(if c.is_pg() {
            " AND EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(p.certifications AS jsonb)) e WHERE e->>'kind' = ?)"
        } else {
            " AND EXISTS (SELECT 1 FROM json_each(p.certifications) WHERE json_extract(value, '$.kind') = ?)"
        });
        args.push(kind.clone().into());
    }
    if let Some(text) = &f.text {
        for word in text.split_whitespace().take(8) {
            if c.is_pg() {
                // A trigram index on each column (the hub's schema) serves ILIKE, any case.
                let pattern = format!("%{}%", word.replace(['%', '_', '\\'], ""));
                sql.push_str(" AND (p.name ILIKE ? OR p.description ILIKE ?)");
                args.push(pattern.clone().into());
                args.push(pattern.into());
            } else if word.chars().count() >= 3 {
                // The trigram index finds any part of a word, in any case, without reading
                // every product; the word is one quoted phrase (its quotes doubled).
                sql.push_str(
                    " AND p.rowid IN (SELECT rowid FROM products_text WHERE products_text MATCH ?)",
                );
                args.push(format!("\"{}\"", word.replace('"', "\"\"")).into());
            } else {
                // Shorter than a trigram: read every product's words.
                let pattern = format!("%{}%", word.replace(['%', '_', '\\'], ""));
                sql.push_str(" AND (p.name LIKE ? OR p.description LIKE ?)");
                args.push(pattern.clone().into());
                args.push(pattern.into());
            }
        }
    }
    sql
}

/// One page of the filtered catalogue, in (UPT, name, id) order, starting after `after`.
pub fn products_page(
    c: &mut Sql<'_>,
    f: &ProductFilter,
    after: Option<&ProductCursor>,
    limit: usize,
) -> Result<Page<ProductRow, ProductCursor>> {
    let mut args = Vec::new();
    let filter = product_where(c, f, &mut args);
    // The curation join only where a curation status is asked for: without it the count is
    // a pass over an index, not a lookup per product.
    let join = if f.curation.is_some() || f.queue.is_some() {
        DECISION_JOINS
    } else {
        ""
    };
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM products p{join}{filter}"),
        refs(&args),
        |r| r.get(0),
    )?;
    let (items, next) = products_after(c, f, after, limit)?;
    Ok(Page { items, total, next })
}

/// Up to `limit` products of the filtered catalogue after `after`, and where the next ones
/// start (`None` at the end): a page without its count, for exports that read every page.
pub fn products_after(
    c: &mut Sql<'_>,
    f: &ProductFilter,
    after: Option<&ProductCursor>,
    limit: usize,
) -> Result<(Vec<ProductRow>, Option<ProductCursor>)> {
    let mut args = Vec::new();
    let filter = product_where(c, f, &mut args);
    let mut sql = format!("{}{filter}", *PRODUCT_SELECT);
    if let Some(a) = after {
        sql.push_str(" AND (p.upt, p.name, p.id) > (?, ?, ?)");
        args.extend([
            a.upt.clone().into(),
            a.name.clone().into(),
            a.id.clone().into(),
        ]);
    }
    sql.push_str(" ORDER BY p.upt, p.name, p.id LIMIT ?");
    args.push(
        i64::try_from(limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1)
            .into(),
    );
    let mut items = c.query_map(&sql, refs(&args), product_row(&future_cutoff().1))?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|p| ProductCursor {
            upt: p.upt.clone(),
            name: p.name.clone(),
            id: p.id.to_string(),
        })
    } else {
        None
    };
    Ok((items, next))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrainingRow {
    pub upt: String,
    /// The training as its document has it (its fields are the row's, flat in JSON).
    #[serde(flatten)]
    pub training: Training,
    pub participants: i64,
    pub completed: i64,
    pub conflicts: Conflicts,
}

impl std::ops::Deref for TrainingRow {
    type Target = Training;
    fn deref(&self) -> &Training {
        &self.training
    }
}

pub fn trainings(
    c: &mut Sql<'_>,
    upt: Option<&str>,
    category: Option<&str>,
) -> Result<Vec<TrainingRow>> {
    Ok(trainings_page(c, upt, category, None, None, usize::MAX / 2)?.items)
}

/// One page of trainings in (UPT, start date, id) order, starting after `after`.
pub fn trainings_page(
    c: &mut Sql<'_>,
    upt: Option<&str>,
    category: Option<&str>,
    kanwil: Option<&str>,
    after: Option<&TrainingCursor>,
    limit: usize,
) -> Result<Page<TrainingRow, TrainingCursor>> {
    let mut filter = String::from(" WHERE t.deleted = 0");
    let mut args: Vec<Value> = Vec::new();
    if let Some(upt) = upt {
        filter.push_str(" AND t.upt = ?");
        args.push(upt.to_string().into());
    }
    if let Some(cat) = category {
        filter.push_str(" AND t.category = ?");
        args.push(cat.to_string().into());
    }
    if let Some(kanwil) = kanwil {
        filter.push_str(" AND t.upt IN (SELECT code FROM upts WHERE kanwil = ?)");
        args.push(kanwil.to_string().into());
    }
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM trainings t{filter}"),
        refs(&args),
        |r| r.get(0),
    )?;
    let mut sql = String::from(
        "SELECT t.*,
           (SELECT COUNT(*) FROM participants p WHERE p.upt = t.upt AND p.training_id = t.id) AS participants,
           (SELECT COUNT(*) FROM participants p WHERE p.upt = t.upt AND p.training_id = t.id AND p.status = 'completed') AS completed
         FROM trainings t",
    );
    sql.push_str(&filter);
    if let Some(a) = after {
        sql.push_str(" AND (t.upt, t.start_date, t.id) > (?, ?, ?)");
        args.extend([
            a.upt.clone().into(),
            a.start_date.clone().into(),
            a.id.clone().into(),
        ]);
    }
    sql.push_str(" ORDER BY t.upt, t.start_date, t.id LIMIT ?");
    args.push(
        i64::try_from(limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1)
            .into(),
    );
    let mut items = c.query_map(&sql, refs(&args), |r| {
        Ok(TrainingRow {
            upt: r.get("upt")?,
            training: Training::from_row(r)?,
            conflicts: serde_json::from_str(&r.get::<_, String>("conflicts")?).unwrap_or_default(),
            participants: r.get("participants")?,
            completed: r.get("completed")?,
        })
    })?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| TrainingCursor {
            upt: t.upt.clone(),
            start_date: crate::model::iso(t.start_date),
            id: t.id.to_string(),
        })
    } else {
        None
    };
    Ok(Page { items, total, next })
}

pub fn participants(c: &mut Sql<'_>, training_id: &str) -> Result<Vec<Participant>> {
    c.query_map(
        "SELECT * FROM participants WHERE training_id = ?1 ORDER BY enrolled_at, pseudonym",
        [training_id],
        |r| Participant::from_row(r),
    )
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Figures {
    pub products: i64,
    pub stock: i64,
    pub sales: i64,
    pub revenue_idr: i64,
    pub trainings: i64,
    pub participants: i64,
    pub completions: i64,
    /// Sales dated more than a day after the hub's date (a UPT PC's clock is off): not in
    /// `sales` or `revenue_idr` until their date is corrected.
    pub future_dated_sales: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UptFigures {
    pub upt: String,
    pub name: String,
    pub kanwil: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KanwilFigures {
    pub kanwil: String,
    pub upts: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub national: Figures,
    pub per_upt: Vec<UptFigures>,
    pub per_kanwil: Vec<KanwilFigures>,
}

/// National figures, per UPT and per Kanwil. A UPT that has records but is not (yet) in the
/// registry is counted under Kanwil "(tidak terdaftar)".
pub fn stats(c: &mut Sql<'_>) -> Result<Stats> {
    Ok(stats_of(upt_figures(c, None)?))
}

/// The figures of each UPT: of every UPT, or of those `only` names (a JSON list of codes).
pub fn upt_figures(c: &mut Sql<'_>, only: Option<&str>) -> Result<Vec<UptFigures>> {
    // One grouped pass over each table (on covering indexes), not a subquery per UPT and
    // figure: the national figures are read often, while the country's records stream in.
    // For some UPTs, a seek per UPT on the same indexes.
    let only_upt = only_upts(c, only, "upt", "?2");
    let only_code = only_upts(c, only, "code", "?2");
    // A stock below zero (sold past what was recorded, see the agent's sales) counts as
    // none: the country's stock is what is on the shelves.
    let stock = total(c, "CASE WHEN stock > 0 THEN stock ELSE 0 END");
    let revenue = total(c, "CASE WHEN date <= ?1 THEN revenue_idr END");
    let sql = format!(
        "WITH p AS (SELECT upt, COUNT(*) AS n, {stock} AS stock
                    FROM products WHERE deleted = 0 AND {only_upt} GROUP BY upt),
              s AS (SELECT upt, SUM(CASE WHEN date <= ?1 THEN 1 ELSE 0 END) AS n,
                           {revenue} AS revenue,
                           SUM(CASE WHEN date > ?1 THEN 1 ELSE 0 END) AS future
                    FROM sales WHERE {only_upt} GROUP BY upt),
              t AS (SELECT upt, COUNT(*) AS n FROM trainings WHERE deleted = 0 AND {only_upt}
                    GROUP BY upt),
              q AS (SELECT upt, COUNT(*) AS n,
                           SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS done
                    FROM participants WHERE {only_upt} GROUP BY upt),
              codes AS (SELECT code AS upt FROM upts WHERE {only_code}
                        UNION SELECT upt FROM p UNION SELECT upt FROM t)
         SELECT c.upt, COALESCE(u.name, c.upt), COALESCE(u.kanwil, '(tidak terdaftar)'),
           COALESCE(p.n, 0), COALESCE(p.stock, 0), COALESCE(s.n, 0), COALESCE(s.revenue, 0),
           COALESCE(t.n, 0), COALESCE(q.n, 0), COALESCE(q.done, 0), COALESCE(s.future, 0)
         FROM codes c LEFT JOIN upts u ON u.code = c.upt
           LEFT JOIN p ON p.upt = c.upt LEFT JOIN s ON s.upt = c.upt
           LEFT JOIN t ON t.upt = c.upt LEFT JOIN q ON q.upt = c.upt
         ORDER BY c.upt"
    );
    let per_upt: Vec<UptFigures> =
        c.query_map(&sql, rusqlite::params![future_cutoff().0, only], |r| {
            Ok(UptFigures {
                upt: r.get(0)?,
                name: r.get(1)?,
                kanwil: r.get(2)?,
                figures: Figures {
                    products: r.get(3)?,
                    stock: r.get(4)?,
                    sales: r.get(5)?,
                    revenue_idr: r.get(6)?,
                    trainings: r.get(7)?,
                    participants: r.get(8)?,
                    completions: r.get(9)?,
                    future_dated_sales: r.get(10)?,
                },
            })
        })?;
    Ok(per_upt)
}

/// The condition that keeps the rows of the UPTs a JSON list names (bound as `param`), or,
/// without a list, a condition always true that still binds `param` (NULL): written out
/// rather than `(? IS NULL OR …)`, which no index can serve.
pub fn only_upts(c: &Sql<'_>, only: Option<&str>, column: &str, param: &str) -> String {
    match only {
        Some(_) if c.is_pg() => {
            format!("{column} IN (SELECT jsonb_array_elements_text(CAST({param} AS jsonb)))")
        }
        Some(_) => format!("{column} IN (SELECT value FROM json_each({param}))"),
        None => format!("CAST({param} AS TEXT) IS NULL"),
    }
}

/// The sum of `expr` over a group as a whole number that never fails the query: SQLite's
/// TOTAL (a float, cast back, saturating); PostgreSQL's SUM of integers is exact (NUMERIC,
/// read back saturating). The model's bounds keep real sums far below either limit.
pub fn total(c: &Sql<'_>, expr: &str) -> String {
    if c.is_pg() {
        format!("COALESCE(SUM({expr}), 0)")
    } else {
        format!("CAST(TOTAL({expr}) AS INTEGER)")
    }
}

/// National and per-Kanwil figures: the sums of the UPTs' (in UPT order).
pub fn stats_of(mut per_upt: Vec<UptFigures>) -> Stats {
    per_upt.sort_by(|a, b| a.upt.cmp(&b.upt));
    let mut national = Figures::default();
    let mut kanwils: std::collections::BTreeMap<String, KanwilFigures> = Default::default();
    for u in &per_upt {
        let k = kanwils
            .entry(u.kanwil.clone())
            .or_insert_with(|| KanwilFigures {
                kanwil: u.kanwil.clone(),
                upts: 0,
                figures: Figures::default(),
            });
        k.upts += 1;
        for f in [&mut k.figures, &mut national] {
            let u = &u.figures;
            f.products = f.products.saturating_add(u.products);
            f.stock = f.stock.saturating_add(u.stock);
            f.sales = f.sales.saturating_add(u.sales);
            f.revenue_idr = f.revenue_idr.saturating_add(u.revenue_idr);
            f.trainings = f.trainings.saturating_add(u.trainings);
            f.participants = f.participants.saturating_add(u.participants);
            f.completions = f.completions.saturating_add(u.completions);
            f.future_dated_sales = f.future_dated_sales.saturating_add(u.future_dated_sales);
        }
    }
    Stats {
        national,
        per_upt,
        per_kanwil: kanwils.into_values().collect(),
    }
}

/// How a queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// Waiting longest first.
    #[default]
    Waiting,
    Upt,
    /// Dearest first.
    Price,
    Category,
}

impl QueueSort {
    pub const ALL: [QueueSort; 4] = [
        QueueSort::Waiting,
        QueueSort::Upt,
        QueueSort::Price,
        QueueSort::Category,
    ];

    /// Its name in a URL (`?urut=`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueSort::Waiting => "menunggu",
            QueueSort::Upt => "upt",
            QueueSort::Price => "harga",
            QueueSort::Category => "kategori",
        }
    }

    pub fn parse(s: &str) -> QueueSort {
        Self::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .unwrap_or_default()
    }

    fn order(self) -> &'static str {
        match self {
            QueueSort::Waiting => "waiting_since, p.upt, p.id",
            QueueSort::Upt => "p.upt, p.name, p.id",
            QueueSort::Price => "p.price_idr DESC, p.upt, p.id",
            QueueSort::Category => "p.category, p.upt, p.name, p.id",
        }
    }
}

/// A product waiting in a queue, and since when (RFC 3339).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Waiting {
    #[serde(flatten)]
    pub row: ProductRow,
    pub waiting_since: String,
}

/// One page of a queue (`f.queue`), ordered by `sort`, `offset` rows in (its length is
/// [`queue_counts`]'s).
pub fn queue_page(
    c: &mut Sql<'_>,
    f: &ProductFilter,
    sort: QueueSort,
    offset: usize,
    limit: usize,
) -> Result<Vec<Waiting>> {
    let queue = f.queue.unwrap_or(Queue::Hq);
    let f = ProductFilter {
        queue: Some(queue),
        ..f.clone()
    };
    let mut args = Vec::new();
    let filter = product_where(c, &f, &mut args);
    let sql = format!(
        "SELECT {}, {} AS waiting_since FROM {}{filter} ORDER BY {} LIMIT ? OFFSET ?",
        *PRODUCT_COLUMNS,
        queue.waiting_since(),
        queue.from(),
        sort.order()
    );
    args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    args.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
    let cutoff = future_cutoff().1;
    c.query_map(&sql, refs(&args), |r| {
        Ok(Waiting {
            row: product_row_at(r, &cutoff)?,
            waiting_since: r.get("waiting_since")?,
        })
    })
}

/// How many products wait in `queue` under `f`'s other filters. The Kanwil's queue is the
/// nominated products less those its Kanwil has decided on (and not had back): two counts
/// an index answers, not a pass over every product with its decisions.
fn queue_length(c: &mut Sql<'_>, f: &ProductFilter, queue: Queue) -> Result<i64> {
    let count = |c: &mut Sql<'_>, f: &ProductFilter, from: &str, extra: &str| -> Result<i64> {
        let mut args = Vec::new();
        let filter = product_where(c, f, &mut args);
        c.query_row(
            &format!("SELECT COUNT(*) FROM {from}{filter}{extra}"),
            refs(&args),
            |r| r.get(0),
        )
    };
    if queue != Queue::Kanwil {
        return count(c, f, queue.from(), "");
    }
    let base = ProductFilter {
        queue: None,
        ..f.clone()
    };
    let nominated = count(c, &base, "products p", " AND p.nominated = 1")?;
    let decided = count(
        c,
        &base,
        Queue::Hq.from(),
        " AND p.upt = v.upt AND p.id = v.product_id AND p.nominated = 1 AND NOT (v.status = 'sent_back' AND p.nominations > v.round)",
    )?;
    Ok(nominated - decided)
}

/// How many products wait in each level's queue (in one Kanwil, if given).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct QueueCounts {
    pub kanwil: i64,
    pub hq: i64,
    pub changed: i64,
    pub sent_back: i64,
}

impl QueueCounts {
    /// How many products wait in `queue`.
    pub fn of(&self, queue: Queue) -> i64 {
        match queue {
            Queue::Kanwil => self.kanwil,
            Queue::Hq => self.hq,
            Queue::Changed => self.changed,
            Queue::SentBack => self.sent_back,
        }
    }
}

pub fn queue_counts(c: &mut Sql<'_>, kanwil: Option<&str>) -> Result<QueueCounts> {
    let f = ProductFilter {
        kanwil: kanwil.map(str::to_string),
        ..Default::default()
    };
    let mut of = |q: Queue| {
        queue_length(
            c,
            &ProductFilter {
                queue: Some(q),
                ..f.clone()
            },
            q,
        )
    };
    Ok(QueueCounts {
        kanwil: of(Queue::Kanwil)?,
        hq: of(Queue::Hq)?,
        changed: of(Queue::Changed)?,
        sent_back: of(Queue::SentBack)?,
    })
}

/// One UPT's line of the curation recap.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecapLine {
    pub kanwil: String,
    pub upt: String,
    pub nominated: i64,
    pub verified: i64,
    pub approved: i64,
    pub featured: i64,
    pub sent_back: i64,
    /// The oldest wait in the Kanwil's or HQ's queue (RFC 3339), if anything waits.
    pub oldest_waiting: Option<String>,
}

/// A UPT's line of one grouped count: the UPT, two counts and the oldest wait.
type Grouped = (String, i64, i64, Option<String>);

/// The curation recap per Kanwil and UPT (of one Kanwil, if given): every UPT of the
/// registry, those without products too. Counted per table (the nominated products by an
/// index, the decisions from their own small tables), then put together per UPT.
pub fn recap(c: &mut Sql<'_>, kanwil: Option<&str>) -> Result<Vec<RecapLine>> {
    let k: Value = kanwil.map(str::to_string).into();
    let scope = "(CAST(? AS TEXT) IS NULL OR p.upt IN (SELECT code FROM upts WHERE kanwil = ?))";
    let mut lines: Vec<RecapLine> = c.query_map(
        "SELECT kanwil, code FROM upts WHERE CAST(? AS TEXT) IS NULL OR kanwil = ? ORDER BY kanwil, code",
        refs(&[k.clone(), k.clone()]),
        |r| {
            Ok(RecapLine {
                kanwil: r.get(0)?,
                upt: r.get(1)?,
                nominated: 0,
                verified: 0,
                approved: 0,
                featured: 0,
                sent_back: 0,
                oldest_waiting: None,
            })
        },
    )?;
    let at: std::collections::HashMap<String, usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.upt.clone(), i))
        .collect();
    let grouped = |c: &mut Sql<'_>, sql: String| -> Result<Vec<Grouped>> {
        c.query_map(&sql, refs(&[k.clone(), k.clone()]), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
    };
    // Nominated, and the oldest of them no Kanwil has decided on (or had back).
    for (upt, nominated, _, oldest) in grouped(
        c,
        format!(
            "SELECT p.upt, COUNT(*), 0,
                    MIN(CASE WHEN v.status IS NULL OR (v.status = 'sent_back' AND p.nominations > v.round) THEN p.updated_at END)
             FROM {} WHERE p.deleted = 0 AND p.nominated = 1 AND {scope} GROUP BY p.upt",
            Queue::Kanwil.from()
        ),
    )? {
        if let Some(&i) = at.get(&upt) {
            lines[i].nominated = nominated;
            lines[i].oldest_waiting = oldest;
        }
    }
    // The Kanwils' verdicts, and the oldest product waiting for HQ.
    for (upt, verified, sent_back, oldest) in grouped(
        c,
        format!(
            "SELECT p.upt, SUM(CASE WHEN v.status = 'verified' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN v.status = 'sent_back' THEN 1 ELSE 0 END),
                    MIN(CASE WHEN {} THEN v.decided_at END)
             FROM {} WHERE {} AND p.deleted = 0 AND {scope} GROUP BY p.upt",
            Queue::Hq.condition(c.is_pg()),
            Queue::Hq.from(),
            Queue::Hq.on()
        ),
    )? {
        if let Some(&i) = at.get(&upt) {
            let l = &mut lines[i];
            l.verified = verified;
            l.sent_back = sent_back;
            l.oldest_waiting = match (l.oldest_waiting.take(), oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    // HQ's decisions.
    for (upt, approved, featured, _) in grouped(
        c,
        format!(
            "SELECT p.upt, SUM(CASE WHEN c.status = 'approved' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN c.status = 'featured' THEN 1 ELSE 0 END), NULL
             FROM {} WHERE {} AND p.deleted = 0 AND {scope} GROUP BY p.upt",
            Queue::Changed.from(),
            Queue::Changed.on()
        ),
    )? {
        if let Some(&i) = at.get(&upt) {
            lines[i].approved = approved;
            lines[i].featured = featured;
        }
    }
    Ok(lines)
}
