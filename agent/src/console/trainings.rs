//! Pelatihan: trainings, enrolling a participant, recording a completion.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct TrainingQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    halaman: String,
}

/// Trainings on one page, the latest start first (each with its participants).
const TRAININGS_PER_PAGE: usize = 20;

pub(super) async fn trainings(
    State(state): State<Shared>,
    op: Operator,
    Query(q): Query<TrainingQuery>,
) -> Result<Response, PageError> {
    let needle = q.q.trim().to_lowercase();
    let page: usize = q.halaman.parse().unwrap_or(1).max(1);
    let (rows, total, cats, people) = state
        .with_store(move |s, upt, _| {
            let mut rows = karya_shared::views::trainings(
                &mut karya_shared::sql::Sql::Lite(&s.conn()),
                Some(upt),
                None,
            )?;
            rows.retain(|t| needle.is_empty() || t.program.to_lowercase().contains(&needle));
            rows.sort_by(|a, b| b.start_date.cmp(&a.start_date).then(a.id.cmp(&b.id)));
            let total = rows.len();
            let rows: Vec<_> = rows
                .into_iter()
                .skip((page - 1) * TRAININGS_PER_PAGE)
                .take(TRAININGS_PER_PAGE)
                .collect();
            let mut people = Vec::new();
            for t in &rows {
                // The connection's guard is let go before the identity table is read.
                let participants = karya_shared::views::participants(
                    &mut karya_shared::sql::Sql::Lite(&s.conn()),
                    &t.id,
                )?;
                for p in participants {
                    let who = crate::identity::lookup(s, &p.pseudonym)?;
                    people.push((t.id.to_string(), p, who));
                }
            }
            Ok((rows, total, records::category_choices(s, true)?, people))
        })
        .await?;
    let flash = state.take_flash(&op);
    let shown = pages::TrainingList {
        q: &q.q,
        page,
        pages: total.div_ceil(TRAININGS_PER_PAGE).max(1),
        total,
    };
    Ok(html(pages::trainings(
        &op, &rows, &cats, &people, &shown, flash,
    )))
}

#[derive(Deserialize)]
pub(super) struct TrainingForm {
    csrf: String,
    program: String,
    kategori: String,
    mulai: String,
    selesai: String,
    #[serde(default)]
    jam: String,
    #[serde(default)]
    mitra: String,
    #[serde(default)]
    instruktur: String,
    #[serde(default)]
    kapasitas: String,
    #[serde(default)]
    skema: String,
}

pub(super) async fn add_training(
    State(state): State<Shared>,
    Posted(op, f): Posted<TrainingForm>,
) -> Result<Response, PageError> {
    let parsed = (|| -> Result<records::NewTraining, String> {
        Ok(records::NewTraining {
            program: f.program.clone(),
            category: f.kategori.clone(),
            start: karya_shared::input::parse_date(&f.mulai)
                .map_err(|e| t::field_problem(t::start(), &e))?,
            end: karya_shared::input::parse_date(&f.selesai)
                .map_err(|e| t::field_problem(t::end(), &e))?,
            hours: whole(t::hours(), &f.jam, Some(0))?,
            partner: f.mitra.trim().to_string(),
            instructor: f.instruktur.trim().to_string(),
            capacity: whole(t::capacity(), &f.kapasitas, Some(0))?,
            scheme: f.skema.trim().to_string(),
        })
    })();
    let typed: Vec<(String, String)> = [
        ("program", &f.program),
        ("kategori", &f.kategori),
        ("mulai", &f.mulai),
        ("selesai", &f.selesai),
        ("jam", &f.jam),
        ("mitra", &f.mitra),
        ("instruktur", &f.instruktur),
        ("kapasitas", &f.kapasitas),
        ("skema", &f.skema),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect();
    let new = match parsed {
        Ok(new) => new,
        Err(e) => return Ok(state.refuse_keeping(&op, "/pelatihan", &e, typed)),
    };
    let add = move |s: &mut Store, upt: &str, _: &Paths| {
        let t = new.into_training();
        records::add_trainings(s, upt, std::slice::from_ref(&t), &[])?;
        Ok(t)
    };
    Ok(state
        .change_keeping(&op, "/pelatihan", typed, add, |training| {
            t::training_added(&training.program)
        })
        .await)
}

#[derive(Deserialize)]
pub(super) struct EnrollForm {
    csrf: String,
    nama: String,
    nomor: String,
}

pub(super) async fn enroll(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, f): Posted<EnrollForm>,
) -> Result<Response, PageError> {
    let name = f.nama.trim().to_string();
    let enroll = move |s: &mut Store, upt: &str, _: &Paths| {
        Ok(records::enroll(s, upt, &id, &f.nomor, &f.nama)?)
    };
    Ok(state
        .change(&op, "/pelatihan", enroll, |_| t::person_enrolled(&name))
        .await)
}

#[derive(Deserialize)]
pub(super) struct CompleteForm {
    csrf: String,
    nomor: String,
    #[serde(default)]
    sertifikat: String,
}

pub(super) async fn complete(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, f): Posted<CompleteForm>,
) -> Result<Response, PageError> {
    let cert = Some(f.sertifikat.trim().to_string()).filter(|c| !c.is_empty());
    let complete = move |s: &mut Store, upt: &str, _: &Paths| {
        Ok(records::complete(s, upt, &id, &f.nomor, cert)?)
    };
    Ok(state
        .change(&op, "/pelatihan", complete, |_| {
            t::completion_recorded().into()
        })
        .await)
}

with_csrf!(TrainingForm, EnrollForm, CompleteForm);
