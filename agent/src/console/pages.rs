//! The console's pages, with Indonesian number, money and date formats; their words come
//! from `crate::text::console` (Bahasa Indonesia, or English with `KARYA_LANG=en`).

use super::{Operator, ProductForm};
use crate::AgentError;
use crate::records::SaleLine;
use crate::status::State;
use crate::status::StatusReport;
use crate::sync::SyncFailure;
use crate::text::console as t;
use karya_shared::Store;
use karya_shared::localtime::{self, Zone, rupiah, thousands};
use karya_shared::model::{CurationStatus, Participant, ParticipantStatus, VerificationStatus};
use karya_shared::schema::Step;
use karya_shared::session::Outcome;
use karya_shared::views::{ProductRow, TrainingRow};
use maud::{DOCTYPE, Markup, html};

const STYLE: &str = "
*{box-sizing:border-box}body{font-family:Segoe UI,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f8fb}
header{background:#1f4e79;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.on{text-decoration:underline;font-weight:bold}
header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:72rem}
table{border-collapse:collapse;margin:.8rem 0;background:#fff}td,th{border:1px solid #ccd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f7}.num{text-align:right}.ok{color:#17692e}.bad{color:#a4161a}
.flash{padding:.6rem .9rem;border-radius:4px;margin:.6rem 0}.flash.ok{background:#e3f4e8}.flash.bad{background:#fbe4e4}
fieldset{border:1px solid #ccd;background:#fff;margin:1rem 0;padding:.8rem}label{display:inline-block;margin:.25rem .8rem .25rem 0}
input,select,button{font-size:1rem;padding:.25rem .4rem}button{cursor:pointer}.state{font-size:1.4rem;font-weight:bold}
.muted{color:#667}
img,svg,input,select,textarea,label{max-width:100%}fieldset{min-width:0}.chart{max-width:100%}.chart svg{height:auto}
@media (max-width:48rem){main{padding:.8rem}header{gap:.4rem 1rem}header form{margin-left:0}
table{display:block;overflow-x:auto;max-width:100%}}";

/// A message shown once at the top of the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub good: bool,
    pub text: String,
    /// What the operator typed into the form that failed: shown in it again.
    pub typed: Vec<(String, String)>,
}

/// The values a failed form's fields had, for the page that shows it again.
#[derive(Debug, Clone, Default)]
pub struct Kept(Vec<(String, String)>);

impl Kept {
    pub fn of(flash: &Option<Flash>) -> Kept {
        flash
            .as_ref()
            .map(|f| Kept(f.typed.clone()))
            .unwrap_or_default()
    }

    /// What was typed into `field` (empty when nothing was kept).
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }
}

impl Flash {
    pub fn good(text: &str) -> Flash {
        Flash {
            good: true,
            text: text.to_string(),
            typed: Vec::new(),
        }
    }
    pub fn bad(text: &str) -> Flash {
        Flash {
            good: false,
            text: text.to_string(),
            typed: Vec::new(),
        }
    }
    pub fn synced(o: &Outcome) -> Flash {
        let mut text = t::synced(
            o.documents,
            &thousands(o.bytes_sent as i64),
            &thousands(o.bytes_received as i64),
            &thousands(o.changes_received as i64),
            o.round_trips,
        );
        if o.photos_sent > 0 {
            text.push_str(&t::photos_sent(o.photos_sent));
        }
        if !o.refused.is_empty() {
            let docs = o
                .refused
                .iter()
                .map(|r| format!("{} ({})", r.doc, crate::text::agent::refusal_words(r)))
                .collect::<Vec<_>>()
                .join("; ");
            return Flash::bad(&t::but_refused(&text, o.refused.len(), &docs));
        }
        Flash::good(&text)
    }
    pub fn sync_failed(f: &SyncFailure) -> Flash {
        if f.token_refused {
            Flash::bad(&t::token_refused(&f.message))
        } else {
            Flash::bad(&t::sync_failed(&f.message))
        }
    }
}

/// An error as an operator reads it.
pub fn in_words(e: &AgentError) -> String {
    match e {
        AgentError::Store(karya_shared::StoreError::Schema(
            karya_shared::schema::SchemaError::Invalid(v),
        )) => t::input_wrong(t::field_label(v.field), &v.reason),
        AgentError::Store(karya_shared::StoreError::Schema(
            karya_shared::schema::SchemaError::NotFound { kind, id },
        )) => t::not_found(&format!(
            "{} {id}",
            karya_shared::text::store::record_kind(kind)
        )),
        other => t::failed(&other.to_string()),
    }
}

/// HQ's curation status in the operator's words (the console's and `product show`'s).
pub fn curation_words(s: CurationStatus) -> &'static str {
    match s {
        CurationStatus::Nominated => t::curation_nominated(),
        CurationStatus::InReview => t::curation_in_review(),
        CurationStatus::Approved => t::curation_approved(),
        CurationStatus::Featured => t::curation_featured(),
        CurationStatus::Rejected => t::curation_rejected(),
    }
}

/// A participant's status in the operator's words.
pub fn participant_words(s: ParticipantStatus) -> &'static str {
    match s {
        ParticipantStatus::Enrolled => t::status_enrolled(),
        ParticipantStatus::Completed => t::status_completed(),
        ParticipantStatus::Dropped => t::status_dropped(),
    }
}

fn when(rfc3339: &str) -> String {
    localtime::format(rfc3339, Zone::from_env())
}

fn flash_box(flash: Option<Flash>) -> Markup {
    html! {
        @if let Some(f) = flash {
            p class={ "flash " (if f.good { "ok" } else { "bad" }) } role="status" { (f.text) }
        }
    }
}

fn csrf(op: &Operator) -> Markup {
    html! { input type="hidden" name="csrf" value=(op.csrf); }
}

fn layout(op: Option<&Operator>, title: &str, active: &str, body: Markup) -> Markup {
    let mut nav = vec![
        ("/", t::nav_home()),
        ("/produk", t::nav_products()),
        ("/penjualan", t::nav_sales()),
        ("/pelatihan", t::nav_trainings()),
        ("/impor", t::nav_import()),
        ("/log", t::nav_log()),
    ];
    if op.is_some_and(|op| op.admin) {
        nav.push(("/pengaturan", t::nav_settings()));
    }
    html! {
        (DOCTYPE)
        html lang=(karya_shared::text::lang().html_tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — karya" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "karya" }
                    @if let Some(op) = op {
                        @for (href, label) in nav {
                            a href=(href) class=[(href == active).then_some("on")] { (label) }
                        }
                        form method="post" action="/keluar" {
                            (csrf(op))
                            span { (op.user) " " }
                            button type="submit" { (t::logout()) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// Pengaturan: the UPT, its hub, and a form for a new token (admin accounts only).
pub fn settings(op: &Operator, upt: &str, hubs: &str, flash: Option<Flash>) -> Markup {
    layout(
        Some(op),
        t::nav_settings(),
        "/pengaturan",
        html! {
            (flash_box(flash))
            p { (t::settings_upt(upt, hubs)) }
            h2 { (t::new_token_title()) }
            p { (t::new_token_help()) }
            form method="post" action="/pengaturan/token" id="token-baru" {
                (csrf(op))
                label { (t::new_token()) " " input name="token" type="password" autocomplete="off" required size="40"; }
                " " button type="submit" { (t::save_token()) }
            }
        },
    )
}

pub fn error_page(message: &str) -> Markup {
    layout(
        None,
        t::problem_title(),
        "",
        html! { p class="flash bad" { (message) } p { a href="/" { (t::back_home()) } } },
    )
}

pub fn login(message: Option<&str>, any_accounts: bool, form_token: &str) -> Markup {
    layout(
        None,
        t::login_title(),
        "",
        html! {
            @if let Some(m) = message { p class="flash bad" role="alert" { (m) } }
            @if !any_accounts {
                p class="flash bad" {
                    (t::no_accounts())
                    code { (t::no_accounts_command()) }
                }
            }
            form method="post" action="/masuk" {
                input type="hidden" name="masuk" value=(form_token);
                fieldset {
                    label { (t::field_user()) " " input name="nama" autocomplete="username" required; }
                    label { (t::field_password()) " " input name="sandi" type="password" autocomplete="current-password" required; }
                    button type="submit" { (t::login_button()) }
                }
            }
        },
    )
}

fn state_words(report: &StatusReport) -> (&'static str, bool, Option<&'static str>) {
    match report.state {
        State::Idle if report.last_success_at.is_some() => (t::state_synced(), true, None),
        State::Idle => (t::state_never(), false, Some(t::state_never_advice())),
        State::Syncing => (t::state_syncing(), true, None),
        State::Offline => (t::state_offline(), false, Some(t::state_offline_advice())),
        State::Refused => (t::state_refused(), false, Some(t::state_refused_advice())),
        State::TokenRefused => (t::state_token(), false, Some(t::state_token_advice())),
        State::Interrupted => (
            t::state_interrupted(),
            false,
            Some(t::state_interrupted_advice()),
        ),
        State::DiskFull => (
            t::state_disk_full(),
            false,
            Some(t::state_disk_full_advice()),
        ),
        State::ReadOnly => (
            t::state_read_only(),
            false,
            Some(t::state_read_only_advice()),
        ),
    }
}

pub fn beranda(
    op: &Operator,
    report: &StatusReport,
    sent_back: &[ProductRow],
    flash: Option<Flash>,
) -> Markup {
    let (state, good, advice) = state_words(report);
    layout(
        Some(op),
        t::nav_home(),
        "/",
        html! {
            (flash_box(flash))
            p { "UPT " strong { (report.upt) } ", " (t::hub_word()) " " code { (report.hub) } }
            p class={ "state " (if good { "ok" } else { "bad" }) } id="status" { (state) }
            @if let Some(a) = advice { p { (a) } }
            table {
                tr { th { (t::last_success()) } td { (report.last_success_at.as_deref().map(when).unwrap_or_else(|| t::never().into())) } }
                tr { th { (t::changes_waiting()) } td class="num" { (thousands(report.pending_changes as i64)) } }
                @if report.photos_waiting > 0 {
                    tr { th { (t::photos_waiting()) } td class="num" { (thousands(report.photos_waiting as i64)) } }
                }
                tr { th { (t::next_try()) } td { (report.next_attempt_at.as_deref().map(when).unwrap_or_else(|| "—".into())) } }
                @if let Some(e) = &report.last_error {
                    tr { th { (t::last_error()) } td { (e) } }
                }
                @for r in &report.refused {
                    tr { th { (t::refused()) (r.doc) } td { (crate::text::agent::refusal_words(r)) } }
                }
            }
            form method="post" action="/sinkron" {
                (csrf(op))
                button type="submit" id="sinkron" { (t::sync_now()) }
            }
            @if !sent_back.is_empty() {
                h2 { (t::awaits_you()) }
                table id="menunggu" {
                    tr { th { (t::product()) } th { (t::kanwil_note()) } }
                    @for p in sent_back {
                        tr {
                            td { a href={ "/produk/" (p.id) } { (p.name) } }
                            td { @if let Some(v) = &p.verification { "“" (v.note) "”" } }
                        }
                    }
                }
            }
        },
    )
}

fn category_select(name: &str, cats: &[(String, String)], selected: &str, any: bool) -> Markup {
    html! {
        select name=(name) {
            @if any { option value="" { (t::all_categories()) } }
            @for (slug, label) in cats {
                option value=(slug) selected[slug == selected] { (label) }
            }
        }
    }
}

fn category_label<'a>(cats: &'a [(String, String)], slug: &'a str) -> &'a str {
    cats.iter()
        .find(|(s, _)| s == slug)
        .map(|(_, n)| n.as_str())
        .unwrap_or(slug)
}

fn curation_cell(p: &ProductRow) -> Markup {
    html! {
        @match &p.curation {
            Some(c) => {
                strong { (curation_words(c.status)) }
                @if c.changed_since(p) { br; span class="bad" { (t::changed_after_approval()) } }
                @if !c.note.is_empty() { br; span class="muted" { "“" (c.note) "”" } }
            }
            None => { span class="muted" { "—" } }
        }
    }
}

/// Whether the product waits for the operator: sent back by the Kanwil, not nominated again.
fn is_sent_back(p: &ProductRow) -> bool {
    p.verification
        .as_ref()
        .is_some_and(|v| v.status == VerificationStatus::SentBack && p.nominations <= v.round)
}

fn verification_words(s: VerificationStatus) -> &'static str {
    match s {
        VerificationStatus::Verified => t::verified(),
        VerificationStatus::SentBack => t::sent_back(),
    }
}

fn verification_cell(p: &ProductRow) -> Markup {
    html! {
        @match &p.verification {
            Some(v) => {
                strong { (verification_words(v.status)) }
                @if v.status == VerificationStatus::SentBack && !is_sent_back(p) { " " (t::proposed_again()) }
                @if v.changed_since(p) { br; span class="bad" { (t::changed_after_verification()) } }
                @if !v.note.is_empty() { br; span class="muted" { "“" (v.note) "”" } }
            }
            None => { span class="muted" { "—" } }
        }
    }
}

/// Every step of a product's curation, newest first.
fn history_table(steps: &[Step]) -> Markup {
    html! {
        table id="riwayat" {
            tr { th { (t::date()) } th { (t::level()) } th { (t::decision()) } th { (t::decided_by()) } th { (t::note()) } th { (t::values_decided()) } }
            @for step in steps.iter().rev() {
                @let (level, words) = match step {
                    Step::Kanwil(v) => ("Kanwil", verification_words(v.status)),
                    Step::Hq(d) => (t::hq_level(), curation_words(d.status)),
                };
                @let (name, price) = step.approved();
                tr {
                    td { (when(step.decided_at())) }
                    td { (level) }
                    td {
                        (words)
                        @if matches!(step, Step::Hq(d) if d.unverified) { " " (t::without_kanwil()) }
                    }
                    td { (step.decided_by()) }
                    td { (step.note()) }
                    td { @if !name.is_empty() { (name) ", " (rupiah(price)) } }
                }
            }
        }
    }
}

fn conflicts_in_words(p: &ProductRow) -> Markup {
    html! {
        @for (field, values) in &p.conflicts {
            p class="bad" {
                (t::conflict_words(
                    t::form_label(field),
                    &values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(t::and()),
                    &values.first().map(|v| v.to_string()).unwrap_or_default(),
                ))
            }
        }
    }
}

/// What the product list shows: the search, and whether this is its first page.
pub struct ProductList<'a> {
    pub q: &'a str,
    pub kategori: &'a str,
    pub first: bool,
}

pub fn products(
    op: &Operator,
    page: &karya_shared::views::Page<ProductRow, karya_shared::views::ProductCursor>,
    cats: &[(String, String)],
    shown: &ProductList<'_>,
    flash: Option<Flash>,
) -> Markup {
    let query = |extra: &str| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !shown.q.is_empty() {
            q.append_pair("q", shown.q);
        }
        if !shown.kategori.is_empty() {
            q.append_pair("kategori", shown.kategori);
        }
        let mut out = q.finish();
        if !extra.is_empty() {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(extra);
        }
        out
    };
    let next = page.next.as_ref().map(|n| {
        let cursor = form_urlencoded::Serializer::new(String::new())
            .append_pair("setelah_nama", &n.name)
            .append_pair("setelah_id", &n.id)
            .finish();
        format!("/produk?{}", query(&cursor))
    });
    layout(
        Some(op),
        t::nav_products(),
        "/produk",
        html! {
            (flash_box(flash))
            form method="get" action="/produk" role="search" {
                label { (t::search()) " " input name="q" value=(shown.q) type="search" placeholder=(t::search_hint()); }
                label { (t::category()) " " (category_select("kategori", cats, shown.kategori, true)) }
                button type="submit" { (t::show()) }
            }
            p id="jumlah" {
                (t::product_count(&thousands(page.total)))
                @if page.next.is_some() || !shown.first {
                    " · " (t::shown_on_page(&thousands(page.items.len() as i64)))
                }
            }
            table id="produk" {
                tr { th { (t::name()) } th { (t::category()) } th class="num" { (t::price()) } th class="num" { (t::stock()) } th { (t::nominated()) } th { (t::curation()) } }
                @for p in &page.items {
                    tr {
                        td { a href={ "/produk/" (p.id) } { (p.name) } @if !p.conflicts.is_empty() { " " span class="bad" { (t::conflict_flag()) } } }
                        td { (category_label(cats, &p.category)) }
                        td class="num" { (rupiah(p.price_idr)) }
                        td class="num" { (thousands(p.stock)) }
                        td { (if p.nominated { t::yes() } else { "—" }) }
                        td { (curation_cell(p)) }
                    }
                }
            }
            p class="halaman" {
                @if !shown.first { a href={ "/produk?" (query("")) } { (t::first_page()) } " " }
                @if let Some(next) = &next { a id="berikutnya" href=(next) { (t::next_page()) } }
            }
            h2 { (t::add_product()) }
            (product_fields(op, "/produk", &ProductForm::default(), cats, true, false))
        },
    )
}

/// A product's certifications as rows of fields (kind, number, valid until), each with a
/// box to remove it, and one empty row to add one. `typed`: the field as typed input.
fn certification_rows(typed: &str) -> Markup {
    use karya_shared::input::FromInput;
    // What was typed but does not read (a failed form) shows as the rows that do.
    let rows: Vec<karya_shared::model::Certification> = typed
        .split(';')
        .filter_map(|item| karya_shared::model::Certification::from_input(item.trim()).ok())
        .collect();
    let empty = karya_shared::model::Certification {
        kind: karya_shared::model::CertificationKind::Halal,
        number: String::new(),
        valid_until: None,
    };
    html! {
        fieldset id="sertifikasi" {
            legend { (t::form_label("certifications")) }
            @for (n, c) in rows.iter().chain(std::iter::once(&empty)).enumerate().take(super::products::MAX_CERTIFICATION_ROWS) {
                @let new = n == rows.len();
                div class="baris-sertifikasi" {
                    label { (t::certification_kind()) " " select name={ "sert_jenis_" (n) } {
                        option value="" selected[new] { "—" }
                        @for k in karya_shared::model::CertificationKind::NAMES {
                            option value=(k) selected[!new && c.kind.as_str() == *k] { (k.to_uppercase()) }
                        }
                    } }
                    " "
                    label { (t::certification_number()) " " input name={ "sert_nomor_" (n) } value=(c.number) size="18"; }
                    " "
                    label { (t::valid_until()) " " input name={ "sert_berlaku_" (n) } placeholder="31/01/2028" size="10"
                        value=(c.valid_until.map(|d| d.to_input()).unwrap_or_default()); }
                    @if !new {
                        " " label { input type="checkbox" name={ "sert_hapus_" (n) } value="ya"; " " (t::remove_this()) }
                    }
                }
            }
        }
    }
}

fn product_fields(
    op: &Operator,
    action: &str,
    f: &ProductForm,
    cats: &[(String, String)],
    adding: bool,
    renominate: bool,
) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf(op))
            fieldset {
                @for (field, ty) in super::products::form_fields() {
                    @let value = f.get(field);
                    @let required = crate::records::REQUIRED.contains(&field);
                    @if field == "category" {
                        label { (t::form_label(field)) " " (category_select(field, cats, value, false)) }
                    } @else if field == "certifications" {
                        (certification_rows(value))
                    } @else if ty == "bool" {
                        label { input type="checkbox" name=(field) value="ya" checked[value == "ya"]; " " (t::form_label(field)) }
                    } @else if field == "description" {
                        label class="lebar" { (t::form_label(field)) br; textarea name=(field) rows="4" cols="60" placeholder=(t::field_placeholder(field)) { (value) } }
                    } @else {
                        @let wide = ty.starts_with("Vec");
                        label { (t::form_label(field)) " " input name=(field) value=(value) size=(if wide { "60" } else { "20" }) placeholder=(t::field_placeholder(field)) required[required]; }
                    }
                    " "
                }
                @if adding {
                    label { (t::stock()) " " input name="stok" value=(f.stok) placeholder="0"; }
                }
                br;
                button type="submit" { (if adding { t::add() } else { t::save() }) }
                @if renominate {
                    " " button type="submit" name="usulkan_lagi" value="ya" id="usulkan-lagi" { (t::save_and_propose()) }
                }
            }
        }
    }
}

pub fn product_form(
    op: &Operator,
    _row: Option<&ProductRow>,
    f: &ProductForm,
    cats: &[(String, String)],
    error: Option<&str>,
) -> Markup {
    layout(
        Some(op),
        t::add_product(),
        "/produk",
        html! {
            @if let Some(e) = error { p class="flash bad" role="alert" { (e) } }
            (product_fields(op, "/produk", f, cats, true, false))
        },
    )
}

pub fn product_page(
    op: &Operator,
    p: &ProductRow,
    cats: &[(String, String)],
    history: &[Step],
    flash: Option<Flash>,
) -> Markup {
    let mut form = ProductForm::of(p);
    // An edit that failed: the form shows what was typed, not what is stored.
    for (k, v) in Kept::of(&flash).fields() {
        form.fields.insert(k.clone(), v.clone());
    }
    let sent_back = is_sent_back(p);
    layout(
        Some(op),
        &p.name,
        "/produk",
        html! {
            (flash_box(flash))
            @if sent_back {
                p class="flash bad" id="dikembalikan" role="status" {
                    (t::sent_back_box(&p.verification.as_ref().map(|v| v.note.clone()).unwrap_or_default()))
                }
            }
            table {
                tr { th { (t::category()) } td { (category_label(cats, &p.category)) } }
                tr { th { (t::price()) } td { (rupiah(p.price_idr)) " / " (p.unit) } }
                tr { th { (t::stock()) } td id="stok" { (thousands(p.stock)) } }
                tr { th { (t::kanwil_verification()) } td id="verifikasi" { (verification_cell(p)) } }
                tr { th { (t::curation()) } td id="kurasi" { (curation_cell(p)) } }
                @if let Some(c) = &p.curation {
                    tr { th { (t::decided()) } td { (c.decided_by) ", " (when(&c.decided_at)) } }
                }
                tr { th { "Id" } td { code { (p.id) } } }
            }
            (conflicts_in_words(p))
            h2 { (t::photos()) }
            div id="foto" {
                @for (i, photo) in p.photos.iter().enumerate() {
                    figure style="display:inline-block;margin:0 1rem 1rem 0;vertical-align:top" {
                        a href={ "/foto/" (photo.hash) } {
                            img src={ "/foto/" (photo.thumb) } alt=(if photo.caption.is_empty() { p.name.as_str() } else { photo.caption.as_str() }) style="max-width:200px;max-height:200px";
                        }
                        figcaption {
                            @if i == 0 { strong { (t::cover()) } br; }
                            @if !photo.caption.is_empty() { (photo.caption) br; }
                            span class="muted" { (photo.width) "×" (photo.height) " px, " (thousands((photo.size / 1024) as i64)) " KB" }
                            form method="post" action={ "/produk/" (p.id) "/foto/" (photo.hash) "/hapus" } {
                                (csrf(op)) button type="submit" { (t::remove_photo()) }
                            }
                        }
                    }
                }
                @if p.photos.is_empty() { p class="muted" { (t::no_photos()) } }
            }
            form method="post" action={ "/produk/" (p.id) "/foto" } enctype="multipart/form-data" {
                (csrf(op))
                label { (t::photo_files()) " " input type="file" name="foto" accept="image/jpeg,image/png,image/webp" multiple required; }
                label { (t::caption()) input name="keterangan"; }
                button type="submit" { (t::add_photos()) }
                p class="muted" { (t::photos_cleaned()) }
            }
            h2 { (t::stock()) }
            form method="post" action={ "/produk/" (p.id) "/stok" } {
                (csrf(op))
                label { (t::quantity()) " " input name="jumlah" value="1" size="6"; }
                button type="submit" name="arah" value="tambah" { (t::stock_up()) }
                " "
                button type="submit" name="arah" value="kurang" { (t::stock_down()) }
            }
            @if !history.is_empty() {
                h2 { (t::curation_history()) }
                (history_table(history))
            }
            h2 { (t::edit()) }
            (product_fields(op, &format!("/produk/{}", p.id), &form, cats, false, sent_back))
            form method="post" action={ "/produk/" (p.id) "/hapus" } {
                (csrf(op))
                button type="submit" { (t::remove_product()) }
            }
        },
    )
}

/// The question before a sale is undone: which sale, what undoing it does.
/// A sale form's values, sent again once the operator confirms.
pub struct SaleAgain<'a> {
    pub produk: &'a str,
    pub jumlah: &'a str,
    pub pendapatan: &'a str,
    pub tanggal: &'a str,
    pub kanal: &'a str,
}

/// Asks before a sale takes a product's stock below zero.
pub fn confirm_sale(op: &Operator, f: &SaleAgain<'_>, which: &str) -> Markup {
    layout(
        Some(op),
        t::confirm_sale_title(),
        "/penjualan",
        html! {
            p id="yakin" class="flash bad" { (t::confirm_sale(which)) }
            form method="post" action="/penjualan" id="tetap-simpan" {
                (csrf(op))
                input type="hidden" name="produk" value=(f.produk);
                input type="hidden" name="jumlah" value=(f.jumlah);
                input type="hidden" name="pendapatan" value=(f.pendapatan);
                input type="hidden" name="tanggal" value=(f.tanggal);
                input type="hidden" name="kanal" value=(f.kanal);
                input type="hidden" name="yakin" value="ya";
                button type="submit" { (t::yes_record_anyway()) }
                " "
                a href="/penjualan" { (t::back()) }
            }
        },
    )
}

/// A page that asks before something goes: what goes and what that does, a button that
/// does it (`yakin=ya`), and the way back.
pub struct Confirm<'a> {
    pub title: &'a str,
    /// The navigation entry the page belongs to.
    pub nav: &'a str,
    pub question: &'a str,
    pub action: &'a str,
    pub yes: &'a str,
    pub back: &'a str,
}

pub fn confirm(op: &Operator, c: &Confirm<'_>) -> Markup {
    layout(
        Some(op),
        c.title,
        c.nav,
        html! {
            p id="yakin" { (c.question) }
            form method="post" action=(c.action) id="ya" {
                (csrf(op))
                input type="hidden" name="yakin" value="ya";
                button type="submit" { (c.yes) }
                " "
                a href=(c.back) { (t::back()) }
            }
        },
    )
}

/// What the sales list shows: the search, whether this is its first page, how many sales
/// match, and where the next page starts.
pub struct SalesList<'a> {
    pub q: &'a str,
    pub first: bool,
    pub total: i64,
    pub next: Option<&'a crate::records::SaleCursor>,
}

pub fn sales(
    op: &Operator,
    sales: &[SaleLine],
    products: &[(String, String)],
    shown: &SalesList<'_>,
    flash: Option<Flash>,
) -> Markup {
    let search = |extra: &[(&str, &str)]| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !shown.q.is_empty() {
            q.append_pair("q", shown.q);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.finish()
    };
    let kept = Kept::of(&flash);
    let channel = if kept.get("kanal").is_empty() {
        "toko"
    } else {
        kept.get("kanal")
    };
    layout(
        Some(op),
        t::nav_sales(),
        "/penjualan",
        html! {
            (flash_box(flash))
            form method="post" action="/penjualan" {
                (csrf(op))
                fieldset {
                    label { (t::product()) " " input name="produk" list="produk-pilihan" required autocomplete="off" placeholder=(t::product_pick_hint()) value=(kept.get("produk")); }
                    datalist id="produk-pilihan" {
                        @for (id, name) in products { option value=(name) { (id.get(..8).unwrap_or(id)) } }
                    }
                    label { (t::quantity()) " " input name="jumlah" size="6" required value=(kept.get("jumlah")); }
                    label { (t::revenue_rp()) " " input name="pendapatan" placeholder="550.000" required value=(kept.get("pendapatan")); }
                    label { (t::date()) " " input name="tanggal" placeholder=(t::date_hint()) value=(kept.get("tanggal")); }
                    label { (t::channel()) " " select name="kanal" {
                        @for c in karya_shared::model::SaleChannel::NAMES { option value=(c) selected[*c == channel] { (c) } }
                    } }
                    button type="submit" { (t::record_sale()) }
                }
            }
            form method="get" action="/penjualan" role="search" {
                label { (t::search_sales()) " " input name="q" type="search" value=(shown.q); }
                " " button type="submit" { (t::show()) }
            }
            p id="jumlah" { (t::sale_count(&thousands(shown.total))) }
            table id="penjualan" {
                tr { th { (t::date()) } th { (t::product()) } th class="num" { (t::quantity()) } th class="num" { (t::revenue()) } th { (t::channel()) } th {} }
                @for s in sales {
                    tr {
                        td { (localtime::date(s.sale.date)) }
                        td { (s.product_name) }
                        td class="num" { (thousands(s.sale.quantity)) }
                        td class="num" { (rupiah(s.sale.revenue_idr)) }
                        td { (s.sale.channel) }
                        td { form method="post" action={ "/penjualan/" (s.sale.id) "/batal" } {
                            (csrf(op)) button type="submit" { (t::undo_sale()) }
                        } }
                    }
                }
            }
            p class="halaman" {
                @if !shown.first { a href={ "/penjualan?" (search(&[])) } { (t::first_page()) } " " }
                @if let Some(n) = shown.next {
                    a id="berikutnya" href={ "/penjualan?" (search(&[("setelah_tanggal", &n.date), ("setelah_dicatat", &n.created_at), ("setelah_id", &n.id)])) } { (t::next_page()) }
                }
            }
        },
    )
}

/// What the training list shows: the search, the page and how many pages and trainings.
pub struct TrainingList<'a> {
    pub q: &'a str,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

pub fn trainings(
    op: &Operator,
    rows: &[TrainingRow],
    cats: &[(String, String)],
    people: &[Enrolment],
    shown: &TrainingList<'_>,
    flash: Option<Flash>,
) -> Markup {
    let kept = Kept::of(&flash);
    let page_link = |n: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !shown.q.is_empty() {
            q.append_pair("q", shown.q);
        }
        q.append_pair("halaman", &n.to_string());
        format!("/pelatihan?{}", q.finish())
    };
    layout(
        Some(op),
        t::nav_trainings(),
        "/pelatihan",
        html! {
            (flash_box(flash))
            form method="get" action="/pelatihan" role="search" {
                label { (t::search_trainings()) " " input name="q" type="search" value=(shown.q); }
                " " button type="submit" { (t::show()) }
            }
            p id="jumlah" {
                (t::training_count(&thousands(shown.total as i64)))
                @if shown.pages > 1 { " · " (t::page_of(shown.page, shown.pages)) }
            }
            @for tr in rows {
                h2 { (tr.program) }
                p class="muted" {
                    (t::training_line(
                        category_label(cats, &tr.category),
                        &localtime::date(tr.start_date),
                        &localtime::date(tr.end_date),
                        tr.hours,
                        tr.participants,
                        tr.completed,
                    ))
                }
                table {
                    tr { th { (t::name_here_only()) } th { (t::reg_no()) } th { (t::status()) } th { (t::certificate()) } th {} }
                    @for (_, p, who) in people.iter().filter(|(tid, _, _)| *tid == tr.id.as_str()) {
                        tr {
                            td { (who.as_ref().map(|w| w.1.as_str()).unwrap_or("?")) }
                            td { (who.as_ref().map(|w| w.0.as_str()).unwrap_or("?")) }
                            td { (participant_words(p.status)) }
                            td { (p.certificate) }
                            td {
                                // One press for a participant who finished (the registration
                                // number comes from this PC's own table, never from the hub).
                                @if let (ParticipantStatus::Enrolled, Some((reg, name))) = (p.status, who) {
                                    form method="post" action={ "/pelatihan/" (tr.id) "/lulus" } class="lulus" {
                                        (csrf(op))
                                        input type="hidden" name="nomor" value=(reg);
                                        label { (t::certificate_no()) " " input name="sertifikat" size="12" aria-label={ (t::certificate_no()) " " (name) }; }
                                        " " button type="submit" aria-label={ (t::mark_passed()) " " (name) } { (t::mark_passed()) }
                                    }
                                }
                            }
                        }
                    }
                }
                form method="post" action={ "/pelatihan/" (tr.id) "/peserta" } {
                    (csrf(op))
                    label { (t::name()) " " input name="nama" required; }
                    label { (t::reg_no()) " " input name="nomor" required; }
                    button type="submit" { (t::enrol()) }
                }
                form method="post" action={ "/pelatihan/" (tr.id) "/lulus" } {
                    (csrf(op))
                    label { (t::reg_no()) " " input name="nomor" required; }
                    label { (t::certificate_no()) " " input name="sertifikat"; }
                    button type="submit" { (t::mark_completed()) }
                }
            }
            @if shown.pages > 1 {
                p class="halaman" {
                    @if shown.page > 1 { a href=(page_link(shown.page - 1)) { (t::previous_page()) } " " }
                    @if shown.page < shown.pages { a id="berikutnya" href=(page_link(shown.page + 1)) { (t::next_page()) } }
                }
            }
            h2 { (t::add_training()) }
            form method="post" action="/pelatihan" {
                (csrf(op))
                fieldset {
                    label { (t::program()) " " input name="program" required value=(kept.get("program")); }
                    label { (t::category()) " " (category_select("kategori", cats, kept.get("kategori"), false)) }
                    label { (t::start()) " " input name="mulai" placeholder="01/12/2026" required value=(kept.get("mulai")); }
                    label { (t::end()) " " input name="selesai" placeholder="20/12/2026" required value=(kept.get("selesai")); }
                    label { (t::hours()) " " input name="jam" size="5" value=(kept.get("jam")); }
                    label { (t::partner()) " " input name="mitra" placeholder="BLK ..." value=(kept.get("mitra")); }
                    label { (t::instructor()) " " input name="instruktur" value=(kept.get("instruktur")); }
                    label { (t::capacity()) " " input name="kapasitas" size="5" value=(kept.get("kapasitas")); }
                    label { (t::scheme()) " " input name="skema" placeholder="BNSP" value=(kept.get("skema")); }
                    button type="submit" { (t::add_training()) }
                }
            }
        },
    )
}

/// A participant of a training (by its id) and, from this PC's identity table, their
/// registration number and name.
pub type Enrolment = (String, Participant, Option<(String, String)>);

/// What an uploaded file would import: every row, and every error, before anything is written.
pub struct Preview {
    pub token: String,
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    pub kind: Option<String>,
    /// The rows' errors (row, column, reason), or why the file cannot be read at all.
    pub errors: Vec<(usize, String, String)>,
    pub problem: Option<String>,
    /// What importing would do that the operator should know (stock below zero).
    pub warnings: Vec<String>,
}

impl Preview {
    pub fn of(
        store: &mut Store,
        upt: &str,
        path: &std::path::Path,
        name: &str,
        token: &str,
    ) -> Preview {
        let mut p = Preview {
            token: token.to_string(),
            name: name.to_string(),
            headers: Vec::new(),
            rows: Vec::new(),
            kind: None,
            errors: Vec::new(),
            problem: None,
            warnings: Vec::new(),
        };
        match crate::import::preview(path) {
            Ok((headers, rows)) => {
                p.headers = headers;
                p.rows = rows;
            }
            Err(e) => {
                p.problem = Some(e.to_string());
                return p;
            }
        }
        let checked = crate::import::import_file_with(
            store,
            upt,
            path,
            crate::import::ImportOptions {
                dry_run: true,
                again: false,
            },
        );
        match checked {
            Ok(report) => {
                p.kind = Some(
                    crate::text::agent::import_kind(&format!("{:?}", report.kind).to_lowercase())
                        .to_string(),
                );
                p.warnings = report.warnings;
            }
            Err(crate::import::ImportError::Rejected { errors, .. }) => {
                p.errors = errors
                    .into_iter()
                    .map(|e| (e.row, e.column, e.reason))
                    .collect();
            }
            Err(crate::import::ImportError::AlreadyImported { earlier, .. }) => {
                p.problem = Some(t::imported_before(&earlier));
            }
            Err(e) => p.problem = Some(e.to_string()),
        }
        p
    }
}

pub fn import_page(op: &Operator, preview: Option<&Preview>, flash: Option<Flash>) -> Markup {
    layout(
        Some(op),
        t::nav_import(),
        "/impor",
        html! {
            (flash_box(flash))
            @if let Some(p) = preview {
                h2 { (t::preview_of(&p.name)) }
                @if let Some(problem) = &p.problem {
                    p class="flash bad" role="alert" { (problem) }
                } @else if !p.errors.is_empty() {
                    p class="flash bad" role="alert" {
                        (p.errors.len()) (t::errors_none_imported())
                    }
                    table id="kesalahan" {
                        tr { th { (t::row()) } th { (t::column()) } th { (t::problem()) } }
                        @for (row, col, reason) in &p.errors { tr { td class="num" { (row) } td { (col) } td { (reason) } } }
                    }
                } @else {
                    p class="flash ok" {
                        (t::all_rows_fine(p.rows.len(), p.kind.as_deref().unwrap_or("")))
                    }
                    @for w in &p.warnings {
                        p class="flash bad" id="peringatan" { (t::import_warning(w)) }
                    }
                    form method="post" action={ "/impor/" (p.token) } {
                        (csrf(op))
                        input type="hidden" name="nama" value=(p.name);
                        button type="submit" id="impor" { (t::import_all(p.rows.len())) }
                    }
                }
                table id="pratinjau" {
                    tr { th { (t::row()) } @for h in &p.headers { th { (h) } } }
                    // Which field each column fills, as the import reads it.
                    tr id="kolom-isi" {
                        th { (t::fills()) }
                        @for f in crate::import::fields_of(&p.headers) {
                            th {
                                @match f {
                                    Some(field) => (t::field_label(field)),
                                    None => span class="bad" { (t::fills_nothing()) },
                                }
                            }
                        }
                    }
                    @for (n, cells) in &p.rows {
                        tr class=[p.errors.iter().any(|e| e.0 == *n).then_some("bad")] {
                            td class="num" { (n) }
                            @for c in cells { td { (c) } }
                            // A row shorter than the header (trailing empty cells left
                            // out): the table stays square.
                            @for _ in cells.len()..p.headers.len() { td {} }
                        }
                    }
                }
            }
            h2 { (t::upload()) }
            p {
                (t::templates_here()) " "
                a href="/templat/produk.xlsx" { "produk.xlsx" } ", "
                a href="/templat/penjualan.xlsx" { "penjualan.xlsx" } ", "
                a href="/templat/pelatihan.xlsx" { "pelatihan.xlsx" } "."
            }
            form method="post" action="/impor" enctype="multipart/form-data" {
                (csrf(op))
                label { (t::sheet_file()) " " input type="file" name="berkas" accept=".csv,.xlsx,.xls,.ods,.txt" required; }
                " "
                button type="submit" id="unggah" { (t::check()) }
            }
        },
    )
}

pub fn log(op: &Operator, events: &[(String, String, String)]) -> Markup {
    layout(
        Some(op),
        t::nav_log(),
        "/log",
        html! {
            p { a href="/log/bundel" { (t::bundle()) } (t::bundle_hint()) }
            table id="log" {
                tr { th { (t::time()) } th { (t::kind()) } th { (t::event()) } }
                @for (at, kind, message) in events {
                    tr { td { (when(at)) } td { (kind) } td { (message) } }
                }
            }
        },
    )
}
