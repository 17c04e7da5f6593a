//! Queries over the materialized tables: what the CLI lists, what the hub's API and dashboard
//! serve. They never load a document.

use crate::model::{Certification, Conflicts, CurationDecision, Participant};
use rusqlite::{Connection, Row, params_from_iter, types::Value};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProductRow {
    pub upt: String,
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub price_idr: i64,
    pub unit: String,
    pub stock: i64,
    pub workshop: String,
    pub certifications: Vec<Certification>,
    pub nominated: bool,
    pub created_at: String,
    pub updated_at: String,
    pub deleted: bool,
    /// Values set concurrently on other replicas (winner first); empty when none.
    pub conflicts: Conflicts,
    /// HQ's decision on it, if any.
    pub curation: Option<CurationDecision>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub upt: Option<String>,
    pub category: Option<String>,
    pub curation: Option<String>,
    pub include_deleted: bool,
}

const PRODUCT_SELECT: &str =
    "SELECT p.upt, p.id, p.name, p.category, p.description, p.price_idr, p.unit, p.stock,
    p.workshop, p.certifications, p.nominated, p.created_at, p.updated_at, p.deleted, p.conflicts,
    c.status, c.note, c.decided_by, c.decided_at
    FROM products p LEFT JOIN curation c ON c.upt = p.upt AND c.product_id = p.id";

fn product_row(r: &Row<'_>) -> rusqlite::Result<ProductRow> {
    let id: String = r.get(1)?;
    let status: Option<String> = r.get(15)?;
    Ok(ProductRow {
        upt: r.get(0)?,
        name: r.get(2)?,
        category: r.get(3)?,
        description: r.get(4)?,
        price_idr: r.get(5)?,
        unit: r.get(6)?,
        stock: r.get(7)?,
        workshop: r.get(8)?,
        certifications: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
        nominated: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        deleted: r.get(13)?,
        conflicts: serde_json::from_str(&r.get::<_, String>(14)?).unwrap_or_default(),
        curation: match status {
            Some(status) => Some(CurationDecision {
                product_id: id.clone(),
                status,
                note: r.get(16)?,
                decided_by: r.get(17)?,
                decided_at: r.get(18)?,
            }),
            None => None,
        },
        id,
    })
}

pub fn products(conn: &Connection, f: &ProductFilter) -> rusqlite::Result<Vec<ProductRow>> {
    let mut sql = format!("{PRODUCT_SELECT} WHERE 1=1");
    let mut args: Vec<Value> = Vec::new();
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
    sql.push_str(" ORDER BY p.upt, p.name, p.id");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map(params_from_iter(args), product_row)?
        .collect()
}

/// A product by id (ids are random, so one UPT at most holds it).
pub fn product(conn: &Connection, id: &str) -> rusqlite::Result<Option<ProductRow>> {
    let mut stmt = conn.prepare(&format!("{PRODUCT_SELECT} WHERE p.id = ?1 LIMIT 1"))?;
    let mut rows = stmt.query_map([id], product_row)?;
    rows.next().transpose()
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrainingRow {
    pub upt: String,
    pub id: String,
    pub program: String,
    pub category: String,
    pub partner: String,
    pub start_date: String,
    pub end_date: String,
    pub hours: i64,
    pub instructor: String,
    pub capacity: i64,
    pub scheme: String,
    pub participants: i64,
    pub completed: i64,
    pub conflicts: Conflicts,
}

pub fn trainings(
    conn: &Connection,
    upt: Option<&str>,
    category: Option<&str>,
) -> rusqlite::Result<Vec<TrainingRow>> {
    let mut sql = String::from(
        "SELECT t.upt, t.id, t.program, t.category, t.partner, t.start_date, t.end_date, t.hours, t.instructor,
           t.capacity, t.scheme, t.conflicts,
           (SELECT COUNT(*) FROM participants p WHERE p.upt = t.upt AND p.training_id = t.id),
           (SELECT COUNT(*) FROM participants p WHERE p.upt = t.upt AND p.training_id = t.id AND p.status = 'completed')
         FROM trainings t WHERE t.deleted = 0",
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(upt) = upt {
        sql.push_str(" AND t.upt = ?");
        args.push(upt.to_string().into());
    }
    if let Some(cat) = category {
        sql.push_str(" AND t.category = ?");
        args.push(cat.to_string().into());
    }
    sql.push_str(" ORDER BY t.upt, t.start_date, t.id");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map(params_from_iter(args), |r| {
        Ok(TrainingRow {
            upt: r.get(0)?,
            id: r.get(1)?,
            program: r.get(2)?,
            category: r.get(3)?,
            partner: r.get(4)?,
            start_date: r.get(5)?,
            end_date: r.get(6)?,
            hours: r.get(7)?,
            instructor: r.get(8)?,
            capacity: r.get(9)?,
            scheme: r.get(10)?,
            conflicts: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
            participants: r.get(12)?,
            completed: r.get(13)?,
        })
    })?
    .collect()
}

pub fn participants(conn: &Connection, training_id: &str) -> rusqlite::Result<Vec<Participant>> {
    let mut stmt = conn.prepare(
        "SELECT training_id, pseudonym, enrolled_at, hours_attended, status, certificate
         FROM participants WHERE training_id = ?1 ORDER BY enrolled_at, pseudonym",
    )?;
    stmt.query_map([training_id], |r| {
        Ok(Participant {
            training_id: r.get(0)?,
            pseudonym: r.get(1)?,
            enrolled_at: r.get(2)?,
            hours_attended: r.get(3)?,
            status: r.get(4)?,
            certificate: r.get(5)?,
        })
    })?
    .collect()
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
pub fn stats(conn: &Connection) -> rusqlite::Result<Stats> {
    let mut stmt = conn.prepare(
        "WITH codes AS (
            SELECT code AS upt FROM upts UNION SELECT upt FROM products UNION SELECT upt FROM trainings
         )
         SELECT c.upt, COALESCE(u.name, c.upt), COALESCE(u.kanwil, '(tidak terdaftar)'),
           (SELECT COUNT(*) FROM products p WHERE p.upt = c.upt AND p.deleted = 0),
           (SELECT COALESCE(SUM(stock), 0) FROM products p WHERE p.upt = c.upt AND p.deleted = 0),
           (SELECT COUNT(*) FROM sales s WHERE s.upt = c.upt),
           (SELECT COALESCE(SUM(revenue_idr), 0) FROM sales s WHERE s.upt = c.upt),
           (SELECT COUNT(*) FROM trainings t WHERE t.upt = c.upt AND t.deleted = 0),
           (SELECT COUNT(*) FROM participants p WHERE p.upt = c.upt),
           (SELECT COUNT(*) FROM participants p WHERE p.upt = c.upt AND p.status = 'completed')
         FROM codes c LEFT JOIN upts u ON u.code = c.upt
         ORDER BY c.upt",
    )?;
    let per_upt: Vec<UptFigures> = stmt
        .query_map([], |r| {
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
                },
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
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
            f.products += u.figures.products;
            f.stock += u.figures.stock;
            f.sales += u.figures.sales;
            f.revenue_idr += u.figures.revenue_idr;
            f.trainings += u.figures.trainings;
            f.participants += u.figures.participants;
            f.completions += u.figures.completions;
        }
    }
    Ok(Stats {
        national,
        per_upt,
        per_kanwil: kanwils.into_values().collect(),
    })
}
