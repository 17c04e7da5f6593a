//! The record commands: products (and their photos), stock, sales, trainings, imports and
//! templates. Each writes the local database; the service syncs it shortly after.

use super::{
    PhotoCommand, ProductCommand, SaleCommand, TrainingCommand, kb, print_json, printable,
};
use crate::config::Paths;
use crate::text::agent as text;
use crate::{AgentError, import, records};
use karya_shared::{DocId, Store, schema, views};
use std::path::Path;

pub fn import(
    paths: &Paths,
    upt: &str,
    file: &Path,
    dry_run: bool,
    again: bool,
    json: bool,
) -> Result<(), AgentError> {
    let mut store = if dry_run {
        crate::store::open_store_to_read(paths)?
    } else {
        crate::store::open_store(paths)?
    };
    let report = import::import_file_with(
        &mut store,
        upt,
        file,
        import::ImportOptions { dry_run, again },
    )?;
    let kind = text::import_kind(&format!("{:?}", report.kind).to_lowercase());
    for w in &report.warnings {
        eprintln!("{w}");
    }
    if json {
        print_json(&report);
    } else if dry_run {
        println!("{}", text::import_checked(&report.file, report.rows, kind));
    } else {
        println!("{}", text::imported(report.rows, kind, &report.file));
    }
    Ok(())
}

pub fn template(
    paths: &Paths,
    kind: crate::template::TemplateKind,
    file: &Path,
) -> Result<(), AgentError> {
    let mut store = crate::store::open_store_to_read(paths)?;
    let training = kind == crate::template::TemplateKind::Pelatihan;
    let names: Vec<String> = records::category_choices(&mut store, training)?
        .into_iter()
        .map(|(slug, name)| if training { slug } else { name })
        .collect();
    crate::template::write(kind, &names, file).map_err(|e| {
        AgentError::Usage(text::cannot_write(
            &file.display().to_string(),
            &e.to_string(),
        ))
    })?;
    println!("{}", text::template_written(&file.display().to_string()));
    Ok(())
}

pub fn product(
    paths: &Paths,
    upt: &str,
    cmd: ProductCommand,
    json: bool,
) -> Result<(), AgentError> {
    let mut store = if matches!(
        cmd,
        ProductCommand::List
            | ProductCommand::Show { .. }
            | ProductCommand::Photo(PhotoCommand::List { .. })
    ) {
        crate::store::open_store_to_read(paths)?
    } else {
        crate::store::open_store(paths)?
    };
    match cmd {
        ProductCommand::Add(a) => {
            let p = records::add_product(
                &mut store,
                upt,
                records::NewProduct {
                    fields: a.fields.0,
                    stock: a.stock,
                },
            )?;
            if json {
                print_json(&p)
            } else {
                println!("{}", p.id)
            }
        }
        ProductCommand::Edit(e) => {
            let patch = e.fields.0;
            let id = records::edit_product(&mut store, upt, &e.id, &patch)?;
            if json {
                print_json(&serde_json::json!({ "id": id }))
            } else {
                println!("{id}")
            }
        }
        ProductCommand::Rm { id } => {
            let id = records::remove_product(&mut store, upt, &id)?;
            if json {
                print_json(&serde_json::json!({ "id": id, "deleted": true }))
            } else {
                println!("{}", text::removed(&id))
            }
        }
        ProductCommand::List => list_products(&mut store, upt, json)?,
        ProductCommand::Photo(PhotoCommand::Add { id, files, caption }) => {
            let photos = records::add_photos(&mut store, &paths.dir, upt, &id, &files, &caption)?;
            if json {
                print_json(&photos);
            } else {
                for p in &photos {
                    println!(
                        "{}  {}x{} px, {}  (thumbnail {})",
                        p.hash,
                        p.width,
                        p.height,
                        kb(p.size),
                        kb(p.thumb_size)
                    );
                }
            }
        }
        ProductCommand::Photo(PhotoCommand::Rm { id, hash }) => {
            let gone = records::remove_photo(&mut store, upt, &id, &hash)?;
            if json {
                print_json(&gone);
            } else {
                println!("{}", text::removed(&gone.hash));
            }
        }
        ProductCommand::Photo(PhotoCommand::List { id }) => {
            let row = product_row(&store, upt, &id)?;
            if json {
                print_json(&row.photos);
            } else {
                for (i, p) in row.photos.iter().enumerate() {
                    let caption = if p.caption.is_empty() {
                        String::new()
                    } else {
                        format!("  \"{}\"", printable(&p.caption))
                    };
                    println!(
                        "{}. {}  {}x{} px, {}{caption}",
                        i + 1,
                        p.hash,
                        p.width,
                        p.height,
                        kb(p.size),
                    );
                }
                if row.photos.is_empty() {
                    println!("{}", text::no_photos(&row.id));
                }
            }
        }
        ProductCommand::Show { id } => {
            let row = product_row(&store, upt, &id)?;
            if json {
                print_json(&row);
            } else {
                show_product(&row);
            }
        }
    }
    Ok(())
}

fn product_row(store: &Store, upt: &str, id: &str) -> Result<views::ProductRow, AgentError> {
    let id = records::resolve_product(store, upt, id)?;
    views::product(&mut karya_shared::sql::Sql::Lite(&store.conn()), &id)?
        .ok_or_else(|| AgentError::Usage(text::not_found("product", &id)))
}

fn list_products(store: &mut Store, upt: &str, json: bool) -> Result<(), AgentError> {
    use karya_shared::localtime::{rupiah, thousands};
    let rows = records::products(store, upt)?;
    if json {
        print_json(&rows);
        return Ok(());
    }
    println!(
        "{:<12} {:<32} {:<16} {:>12} {:>7} {:<10}",
        "ID",
        text::col_name(),
        text::col_category(),
        text::col_price(),
        text::col_stock(),
        text::col_curation()
    );
    let cats = records::category_choices(store, false)?;
    let category = |slug: &str| {
        cats.iter()
            .find(|(s, _)| s == slug)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| slug.to_string())
    };
    for p in rows {
        let cur = p
            .curation
            .as_ref()
            .map(|c| crate::console::pages::curation_words(c.status))
            .unwrap_or("-");
        let flag = if p.conflicts.is_empty() {
            ""
        } else {
            text::conflict_flag()
        };
        println!(
            "{:<12} {:<32} {:<16} {:>12} {:>7} {cur}{flag}",
            &p.id[..12.min(p.id.len())],
            printable(&p.name),
            printable(&category(&p.category)),
            rupiah(p.price_idr),
            thousands(p.stock)
        );
    }
    Ok(())
}

fn show_product(row: &views::ProductRow) {
    use karya_shared::localtime::{Zone, format, rupiah, thousands};
    println!("{}  {}", printable(&row.id), printable(&row.name));
    println!(
        "{}",
        text::product_line(
            karya_shared::model::PRODUCT_CATEGORIES
                .iter()
                .find(|(slug, _)| *slug == row.category)
                .map_or(row.category.as_str(), |(_, name)| *name),
            &rupiah(row.price_idr),
            &printable(&row.unit),
            &thousands(row.stock),
            &printable(&row.workshop)
        )
    );
    let yes_no = if row.nominated {
        text::yes()
    } else {
        text::no()
    };
    let removed = if row.deleted {
        text::removed_flag()
    } else {
        ""
    };
    println!("{}", text::product_nominated(yes_no, removed));
    if !row.photos.is_empty() {
        println!("{}", text::product_photos(row.photos.len()));
    }
    for c in &row.certifications {
        let until = c.valid_until.map(karya_shared::localtime::date);
        println!(
            "{}",
            text::product_certification(c.kind.as_str(), &c.number, until.as_deref())
        );
    }
    if let Some(v) = &row.verification {
        let words = match v.status {
            karya_shared::model::VerificationStatus::Verified => text::verified(),
            karya_shared::model::VerificationStatus::SentBack => text::sent_back(),
        };
        println!(
            "{}",
            text::product_verification(
                words,
                &printable(&v.decided_by),
                &format(&v.decided_at, Zone::from_env()),
                &printable(&v.note)
            )
        );
    }
    match &row.curation {
        Some(c) => {
            println!(
                "{}",
                text::product_curation(
                    crate::console::pages::curation_words(c.status),
                    &printable(&c.decided_by),
                    &format(&c.decided_at, Zone::from_env()),
                    &printable(&c.note)
                )
            );
            if c.changed_since(row) {
                println!("{}", text::changed_after_approval());
            }
        }
        None => println!("{}", text::no_curation_yet()),
    }
    for (field, values) in &row.conflicts {
        let vals: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        println!(
            "{}",
            text::product_conflict(field, &vals[0], &vals[1..].join(", "))
        );
    }
}

pub fn stock(paths: &Paths, upt: &str, id: &str, n: i64, json: bool) -> Result<(), AgentError> {
    let mut store = crate::store::open_store(paths)?;
    let (id, stock) = records::add_stock(&mut store, upt, id, n)?;
    if json {
        print_json(&serde_json::json!({ "id": id, "stock": stock }))
    } else {
        println!("{}", text::stock_now(&id, stock))
    }
    Ok(())
}

pub fn sale(paths: &Paths, upt: &str, cmd: SaleCommand, json: bool) -> Result<(), AgentError> {
    let SaleCommand::Add {
        id,
        qty,
        revenue,
        date,
        channel,
        below_zero,
    } = cmd;
    let mut store = crate::store::open_store(paths)?;
    let product = records::resolve_product(&store, upt, &id)?;
    let sale = records::new_sale(product, qty, revenue, date, channel);
    let short = records::stock_shortfalls(&store, upt, std::slice::from_ref(&sale))?;
    records::add_sales(
        &mut store,
        upt,
        std::slice::from_ref(&sale),
        &[],
        below_zero,
    )?;
    if !short.is_empty() {
        eprintln!("{}", records::Shortfall::describe(&short));
    }
    if json {
        print_json(&sale)
    } else {
        println!("{}", sale.id)
    }
    Ok(())
}

pub fn training(
    paths: &Paths,
    upt: &str,
    doc: &DocId,
    cmd: TrainingCommand,
    json: bool,
) -> Result<(), AgentError> {
    let mut store = if matches!(cmd, TrainingCommand::List | TrainingCommand::Show { .. }) {
        crate::store::open_store_to_read(paths)?
    } else {
        crate::store::open_store(paths)?
    };
    match cmd {
        TrainingCommand::Add {
            program,
            category,
            start,
            end,
            hours,
            partner,
            instructor,
            capacity,
            scheme,
        } => {
            let t = records::NewTraining {
                program,
                category,
                start,
                end,
                hours,
                partner,
                instructor,
                capacity,
                scheme,
            }
            .into_training();
            records::add_trainings(&mut store, upt, std::slice::from_ref(&t), &[])?;
            if json {
                print_json(&t)
            } else {
                println!("{}", t.id)
            }
        }
        TrainingCommand::Enroll { id, reg_no, name } => {
            let pseudonym = records::enroll(&mut store, upt, &id, &reg_no, &name)?;
            if json {
                print_json(&serde_json::json!({ "pseudonym": pseudonym }))
            } else {
                println!("{}", text::enrolled(&pseudonym[..16]))
            }
        }
        TrainingCommand::Complete {
            id,
            reg_no,
            certificate,
        } => {
            let pseudonym = records::complete(&mut store, upt, &id, &reg_no, certificate)?;
            if json {
                print_json(&serde_json::json!({ "pseudonym": pseudonym, "status": "completed" }))
            } else {
                println!("{}", text::completed(&pseudonym[..16]))
            }
        }
        TrainingCommand::List => list_trainings(&mut store, upt, json)?,
        TrainingCommand::Show { id } => show_training(&store, upt, doc, &id, json)?,
    }
    Ok(())
}

fn list_trainings(store: &mut Store, upt: &str, json: bool) -> Result<(), AgentError> {
    let rows = views::trainings(
        &mut karya_shared::sql::Sql::Lite(&store.conn()),
        Some(upt),
        None,
    )?;
    if json {
        print_json(&rows);
        return Ok(());
    }
    println!(
        "{:<12} {:<30} {:<12} {:<10} {:<10} {:>6} {:>6}",
        "ID",
        "PROGRAM",
        text::col_category(),
        text::col_start(),
        text::col_end(),
        text::col_people(),
        text::col_done()
    );
    let cats = records::category_choices(store, true)?;
    let category = |slug: &str| {
        cats.iter()
            .find(|(s, _)| s == slug)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| slug.to_string())
    };
    for t in rows {
        println!(
            "{:<12} {:<30} {:<12} {:<11} {:<11} {:>6} {:>6}",
            &t.id[..12.min(t.id.len())],
            printable(&t.program),
            printable(&category(&t.category)),
            karya_shared::localtime::date(t.start_date),
            karya_shared::localtime::date(t.end_date),
            t.participants,
            t.completed
        );
    }
    Ok(())
}

fn show_training(
    store: &Store,
    upt: &str,
    doc: &DocId,
    id: &str,
    json: bool,
) -> Result<(), AgentError> {
    let id = records::resolve_training(store, upt, id)?;
    let training = store
        .with_doc(doc, |d| schema::read_training(d, &id))?
        .map(|(t, _)| t);
    let participants = views::participants(&mut karya_shared::sql::Sql::Lite(&store.conn()), &id)?;
    if json {
        // Local view: names come from the local identity table and are shown on this
        // machine only.
        let people: Vec<serde_json::Value> = participants
            .iter()
            .map(|p| {
                let who = crate::identity::lookup(store, &p.pseudonym).ok().flatten();
                serde_json::json!({ "participant": p, "reg_no": who.as_ref().map(|w| &w.0), "name": who.as_ref().map(|w| &w.1) })
            })
            .collect();
        print_json(&serde_json::json!({ "training": training, "participants": people }));
        return Ok(());
    }
    let Some(t) = training else {
        return Ok(());
    };
    println!(
        "{}",
        text::training_line(
            &t.id,
            &t.program,
            &karya_shared::schema::slug_words(&t.category),
            &karya_shared::localtime::date(t.start_date),
            &karya_shared::localtime::date(t.end_date),
            t.hours,
            &t.partner
        )
    );
    for p in participants {
        let who = crate::identity::lookup(store, &p.pseudonym)?
            .map(|(reg, name)| format!("{name} ({reg})"))
            .unwrap_or_else(|| text::pseudonym_only(&p.pseudonym[..16]));
        println!(
            "{}",
            text::participant_line(
                &who,
                crate::console::pages::participant_words(p.status),
                p.hours_attended,
                &p.certificate
            )
        );
    }
    Ok(())
}
