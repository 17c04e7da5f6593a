//! `GET /`: the HQ dashboard, server-rendered, in Bahasa Indonesia. A browser signs in once
//! with a viewer, curator or admin token (kept in an HttpOnly cookie).

use crate::AppState;
use crate::auth::Principal;
use crate::db::UptRow;
use crate::error::ApiError;
use crate::handlers::views::{decode_cursor, encode_cursor};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use karya_shared::localtime;
use karya_shared::views::{Page, ProductCursor, ProductFilter, ProductRow, Stats};
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;
use tracing::instrument;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

use karya_shared::localtime::{rupiah, thousands};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccd;padding:.3rem .6rem;text-align:left}th{background:#eef2f7}.num{text-align:right}
.stale{color:#a11;font-weight:bold}.ok{color:#176b2c}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #ccd;border-radius:6px;padding:.8rem 1.2rem}.card b{display:block;font-size:1.4rem}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    ))
}

fn login_page(message: &str) -> Response {
    let body = format!(
        "<h1>karya — Dasbor Ditjen Pemasyarakatan</h1><p>{}</p>
         <form method=\"post\" action=\"/login\"><label>Token: <input name=\"token\" type=\"password\" size=\"60\"></label>
         <button type=\"submit\">Masuk</button></form>",
        esc(message)
    );
    (StatusCode::UNAUTHORIZED, page("Masuk — karya", &body)).into_response()
}

#[derive(Deserialize)]
pub struct Login {
    token: String,
}

#[instrument(skip_all)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Form(form): Form<Login>,
) -> Result<Response, ApiError> {
    let source = connect.map(|c| c.0.0.ip());
    if state.auth_allowed(source).is_err() {
        return Ok(login_page(
            "Terlalu banyak percobaan masuk yang gagal dari alamat ini. Tunggu satu menit lalu coba lagi.",
        ));
    }
    let token = form.token.trim().to_string();
    let check = token.clone();
    let verdict = state.blocking(move |db| db.verify_token(&check)).await??;
    if !matches!(verdict, Ok(ref p) if p.role.can_read()) {
        state.auth_failed(source);
    }
    match verdict {
        Ok(p) if p.role.can_read() => Ok((
            [(
                header::SET_COOKIE,
                format!("karya_token={token}; HttpOnly; SameSite=Strict; Path=/"),
            )],
            Redirect::to("/"),
        )
            .into_response()),
        Ok(_) => Ok(login_page(
            "Token agen UPT tidak dapat membuka dasbor. Gunakan token viewer, curator, atau admin.",
        )),
        Err(_) => Ok(login_page(
            "Token tidak valid atau sudah dicabut. Mintalah token baru kepada admin hub.",
        )),
    }
}

#[instrument(skip_all)]
pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    principal: Result<Principal, ApiError>,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let principal = match principal {
        Ok(p) if p.role.can_read() => p,
        Ok(_) => return Ok(login_page("Token agen UPT tidak dapat membuka dasbor.")),
        Err(_) => return Ok(login_page("Masukkan token untuk membuka dasbor.")),
    };
    let hours = state.config.stale_after_hours;
    let after: Option<ProductCursor> = query
        .after
        .filter(|a| !a.is_empty())
        .map(|a| decode_cursor(&a))
        .transpose()?;
    let view = state
        .blocking(move |db| -> Result<View, karya_shared::StoreError> {
            Ok(View {
                stats: db.stats()?,
                upts: db.upt_rows(hours)?,
                products: db.products_page(
                    &ProductFilter::default(),
                    after.as_ref(),
                    DASHBOARD_PAGE,
                )?,
                refusals: db.refusal_count()?,
                categories: db.product_categories()?,
                stale_hours: hours,
            })
        })
        .await??;
    Ok(render(&principal, &view, state.config.zone()).into_response())
}

/// Products on one page of the dashboard's catalogue.
const DASHBOARD_PAGE: usize = 100;

#[derive(Debug, Deserialize, Default)]
pub struct DashboardQuery {
    /// Where the catalogue's page starts (the "next" link).
    after: Option<String>,
}

/// Everything the dashboard shows, read in one go.
struct View {
    stats: Stats,
    upts: Vec<UptRow>,
    products: Page<ProductRow, ProductCursor>,
    refusals: i64,
    /// Category slug to the name people read.
    categories: std::collections::HashMap<String, String>,
    stale_hours: i64,
}

fn render(principal: &Principal, view: &View, zone: localtime::Zone) -> Html<String> {
    let zone = &zone;
    let View {
        stats,
        upts,
        products,
        refusals,
        categories,
        stale_hours,
    } = view;
    let n = &stats.national;
    let stale = upts.iter().filter(|u| u.stale).count();
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Produk Unggulan Warga Binaan — Dasbor Nasional</h1><p>Masuk sebagai {} ({}).</p>
        <div class=\"cards\">
        <div class=\"card\">UPT terdaftar<b>{}</b></div><div class=\"card\">UPT belum sinkron &gt; {} jam<b class=\"{}\">{stale}</b></div>
        <div class=\"card\">Produk<b>{}</b></div><div class=\"card\">Stok<b>{}</b></div>
        <div class=\"card\">Penjualan<b>{}</b></div><div class=\"card\">Pendapatan<b>{}</b></div>
        <div class=\"card\">Pelatihan<b>{}</b></div><div class=\"card\">Peserta<b>{}</b></div><div class=\"card\">Lulus<b>{}</b></div>
        <div class=\"card\">Sinkronisasi ditolak<b>{refusals}</b></div></div>",
        esc(&principal.name),
        principal.role.name(),
        upts.len(),
        stale_hours,
        if stale > 0 { "stale" } else { "ok" },
        n.products,
        n.stock,
        n.sales,
        rupiah(n.revenue_idr),
        n.trainings,
        n.participants,
        n.completions,
    );
    if n.future_dated_sales > 0 {
        let _ = write!(
            b,
            "<p class=stale>{} penjualan bertanggal lebih dari sehari setelah hari ini (jam komputer UPT salah) tidak dihitung dalam penjualan dan pendapatan.</p>",
            n.future_dated_sales
        );
    }
    b.push_str("<h2>Per Kanwil</h2><table><tr><th>Kanwil</th><th>UPT</th><th>Produk</th><th>Stok</th><th>Pendapatan</th><th>Pelatihan</th><th>Peserta</th><th>Lulus</th></tr>");
    for k in &stats.per_kanwil {
        let f = &k.figures;
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            esc(&k.kanwil),
            k.upts,
            f.products,
            f.stock,
            rupiah(f.revenue_idr),
            f.trainings,
            f.participants,
            f.completions
        );
    }
    b.push_str("</table><h2>UPT</h2><table><tr><th>Kode</th><th>Nama</th><th>Kanwil</th><th>Sinkron terakhir</th><th>Versi agen</th><th>Produk</th><th>Pelatihan</th></tr>");
    for u in upts {
        let last = match &u.last_sync_at {
            Some(at) if u.stale => {
                format!(
                    "<span class=stale>{} (usang)</span>",
                    esc(&localtime::format(at, *zone))
                )
            }
            Some(at) => format!(
                "<span class=ok>{}</span>",
                esc(&localtime::format(at, *zone))
            ),
            None => "<span class=stale>belum pernah</span>".into(),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{last}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            esc(&u.code),
            esc(&u.name),
            esc(&u.kanwil),
            esc(u.last_agent_version.as_deref().unwrap_or("-")),
            u.products,
            u.trainings
        );
    }
    let _ = write!(
        b,
        "</table><h2>Katalog produk</h2><p>Menampilkan {} dari {} produk. <a href=\"/api/v1/products?format=csv\">Unduh CSV (semua)</a></p><table><tr><th>Foto</th><th>UPT</th><th>ID</th><th>Produk</th><th>Kategori</th><th>Harga</th><th>Stok</th><th>Diusulkan</th><th>Kurasi</th></tr>",
        thousands(products.items.len() as i64),
        thousands(products.total)
    );
    for p in &products.items {
        // The cover photo's thumbnail, linking the full photo (photo hashes are hex).
        let photo = match p.photos.first() {
            Some(ph) => format!(
                "<a href=\"/api/v1/blobs/{}\"><img src=\"/api/v1/blobs/{}\" alt=\"{}\" width=80 loading=lazy></a>",
                esc(&ph.hash),
                esc(&ph.thumb),
                esc(&p.name)
            ),
            None => "-".into(),
        };
        let _ = write!(
            b,
            "<tr><td>{photo}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.upt),
            esc(&p.id),
            esc(&p.name),
            esc(categories.get(&p.category).unwrap_or(&p.category)),
            rupiah(p.price_idr),
            p.stock,
            if p.nominated { "ya" } else { "" },
            esc(p
                .curation
                .as_ref()
                .map(|c| c.status.as_str())
                .unwrap_or("-"))
        );
    }
    b.push_str("</table>");
    if let Some(next) = &products.next {
        let _ = write!(
            b,
            "<p><a href=\"/?after={}\">Halaman berikutnya &rarr;</a></p>",
            esc(&encode_cursor(next))
        );
    }
    page("Dasbor karya", &b)
}
