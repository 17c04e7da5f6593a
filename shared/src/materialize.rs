//! Keeps the SQL tables of current records (products, sales, trainings, participants,
//! curation, UPT registry, categories) equal to the documents, one record at a time.

use crate::schema::{self, DocId, RecordKey};
use automerge::AutoCommit;
use rusqlite::{Connection, params};

/// Brings the row of one record up to date with the document: upserted when the record is
/// there, deleted when it is not. Records that do not belong to this kind of document (an
/// agent cannot put a UPT registry entry into its own document) are ignored.
pub fn apply(
    conn: &Connection,
    id: &DocId,
    doc: &AutoCommit,
    key: &RecordKey,
) -> rusqlite::Result<()> {
    match (id, key) {
        (DocId::Upt(upt), RecordKey::Product(pid)) => match schema::read_product(doc, pid) {
            Some((p, conflicts)) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO products (upt, id, name, category, description, price_idr, unit, stock,
                       workshop, certifications, nominated, created_at, updated_at, deleted, conflicts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    upt,
                    p.id,
                    p.name,
                    p.category,
                    p.description,
                    p.price_idr,
                    p.unit,
                    p.stock,
                    p.workshop,
                    serde_json::to_string(&p.certifications).unwrap_or_default(),
                    p.nominated,
                    p.created_at,
                    p.updated_at,
                    p.deleted,
                    serde_json::to_string(&conflicts).unwrap_or_default(),
                ])?;
            }
            None => {
                conn.execute(
                    "DELETE FROM products WHERE upt = ?1 AND id = ?2",
                    params![upt, pid],
                )?;
            }
        },
        (DocId::Upt(upt), RecordKey::Sale(sid)) => match schema::read_sale(doc, sid) {
            Some(s) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO sales (upt, id, product_id, date, quantity, revenue_idr, channel, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![upt, s.id, s.product_id, s.date, s.quantity, s.revenue_idr, s.channel, s.created_at])?;
            }
            None => {
                conn.execute(
                    "DELETE FROM sales WHERE upt = ?1 AND id = ?2",
                    params![upt, sid],
                )?;
            }
        },
        (DocId::Upt(upt), RecordKey::Training(tid)) => match schema::read_training(doc, tid) {
            Some((t, conflicts)) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO trainings (upt, id, program, category, partner, start_date, end_date,
                       hours, instructor, capacity, scheme, created_at, updated_at, deleted, conflicts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    upt,
                    t.id,
                    t.program,
                    t.category,
                    t.partner,
                    t.start_date,
                    t.end_date,
                    t.hours,
                    t.instructor,
                    t.capacity,
                    t.scheme,
                    t.created_at,
                    t.updated_at,
                    t.deleted,
                    serde_json::to_string(&conflicts).unwrap_or_default(),
                ])?;
            }
            None => {
                conn.execute(
                    "DELETE FROM trainings WHERE upt = ?1 AND id = ?2",
                    params![upt, tid],
                )?;
            }
        },
        (
            DocId::Upt(upt),
            RecordKey::Participant {
                training_id,
                pseudonym,
            },
        ) => match schema::read_participant(doc, training_id, pseudonym) {
            Some(p) => {
                conn.prepare_cached(
                        "INSERT OR REPLACE INTO participants (upt, training_id, pseudonym, enrolled_at, hours_attended,
                           status, certificate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        upt,
                        p.training_id,
                        p.pseudonym,
                        p.enrolled_at,
                        p.hours_attended,
                        p.status,
                        p.certificate
                    ])?;
            }
            None => {
                conn.execute(
                        "DELETE FROM participants WHERE upt = ?1 AND training_id = ?2 AND pseudonym = ?3",
                        params![upt, training_id, pseudonym],
                    )?;
            }
        },
        (DocId::Curation(upt), RecordKey::Decision(pid)) => match schema::read_decision(doc, pid) {
            Some(d) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO curation (upt, product_id, status, note, decided_by, decided_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![upt, d.product_id, d.status, d.note, d.decided_by, d.decided_at])?;
            }
            None => {
                conn.execute(
                    "DELETE FROM curation WHERE upt = ?1 AND product_id = ?2",
                    params![upt, pid],
                )?;
            }
        },
        (DocId::National, RecordKey::Upt(code)) => match schema::read_upt(doc, code) {
            Some(u) => {
                conn.execute(
                    "INSERT OR REPLACE INTO upts (code, name, type, kanwil) VALUES (?1, ?2, ?3, ?4)",
                    params![u.code, u.name, u.kind, u.kanwil],
                )?;
            }
            None => {
                conn.execute("DELETE FROM upts WHERE code = ?1", [code])?;
            }
        },
        (DocId::National, RecordKey::Category(slug) | RecordKey::TrainingCategory(slug)) => {
            let kind = if matches!(key, RecordKey::Category(_)) {
                "product"
            } else {
                "training"
            };
            match schema::read_category(doc, key) {
                Some(name) => {
                    conn.execute(
                        "INSERT OR REPLACE INTO categories (kind, slug, name) VALUES (?1, ?2, ?3)",
                        params![kind, slug, name],
                    )?;
                }
                None => {
                    conn.execute(
                        "DELETE FROM categories WHERE kind = ?1 AND slug = ?2",
                        params![kind, slug],
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Removes every row that came from one document.
pub fn clear(conn: &Connection, id: &DocId) -> rusqlite::Result<()> {
    match id {
        DocId::Upt(upt) => {
            for table in ["products", "sales", "trainings", "participants"] {
                conn.execute(&format!("DELETE FROM {table} WHERE upt = ?1"), [upt])?;
            }
        }
        DocId::Curation(upt) => {
            conn.execute("DELETE FROM curation WHERE upt = ?1", [upt])?;
        }
        DocId::National => {
            conn.execute_batch("DELETE FROM upts; DELETE FROM categories;")?;
        }
    }
    Ok(())
}

/// Every materialized row, as text, in a stable order: for comparing two stores' tables.
pub fn dump(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, order) in [
        ("products", "upt, id"),
        ("sales", "upt, id"),
        ("trainings", "upt, id"),
        ("participants", "upt, training_id, pseudonym"),
        ("curation", "upt, product_id"),
        ("upts", "code"),
        ("categories", "kind, slug"),
    ] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut line = format!("{table}:");
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i)?;
                line.push_str(&format!(" {v:?}"));
            }
            out.push(line);
        }
    }
    Ok(out)
}
