//! The curators' dashboard: server-rendered pages (maud, which escapes by construction; plain
//! forms, no JavaScript) in Bahasa Indonesia with Indonesian number, money and date formats.
//!
//! Signing in with a viewer, curator or admin token creates a session: a random 192-bit id in
//! an `HttpOnly; SameSite=Strict` cookie (`Secure` when `cookie_secure` says the hub sits
//! behind TLS). Sessions are rows of the hub's database (the id's hash and the token's id, never
//! the token), so every hub process knows them and a restart signs no one out; the token is
//! checked again on every request, so a revoked token ends its sessions at once. Sessions end
//! at logout, after 8 hours without a request, or 24 hours after sign-in. Every form carries
//! the session's CSRF token; a form without it changes nothing.
//!
//! Pages: Ringkasan (`/`), Katalog (`/katalog`, filters and keyset pages) and a page per
//! product (`/produk/{upt}/{id}`) with its photos and the decision form.

mod antrean;
mod chart;
mod ekspor;
pub mod katalog;
mod pelatihan;
pub mod ringkasan;
mod upt;

use crate::AppState;
use crate::auth::Principal;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use std::sync::Arc;

pub use crate::session::{COOKIE, session_of, signed_in};
use crate::session::{LIMITS, cookie_named, unix_now};

/// The cookie that ties the sign-in form to the browser that loaded it.
const LOGIN_COOKIE: &str = "karya_masuk";

/// A person signed in to the dashboard (a viewer, curator or admin), with the CSRF token
/// their forms carry. Without a live session, a page answers with a redirect to `/masuk`.
pub struct Curator {
    pub principal: Principal,
    pub csrf: String,
}

pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/masuk").into_response()
    }
}

impl FromRequestParts<Arc<AppState>> for Curator {
    type Rejection = ToLogin;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ToLogin> {
        // A script may also read the pages with `Authorization: Bearer` (no forms then).
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return match Principal::from_request_parts(parts, state).await {
                Ok(principal) if principal.role.can_read() => Ok(Curator {
                    principal,
                    csrf: String::new(),
                }),
                _ => Err(ToLogin),
            };
        }
        match signed_in(state, &parts.headers).await {
            Ok(Some((principal, csrf))) => Ok(Curator { principal, csrf }),
            _ => Err(ToLogin),
        }
    }
}

impl Curator {
    /// Whether a form's CSRF token is this session's.
    pub fn form_is_ours(&self, sent: &str) -> bool {
        use subtle::ConstantTimeEq;
        !self.csrf.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes()))
    }
}

/// 503: the hub could not read what the page shows (a busy or failing database).
pub fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            None,
            "Hub sibuk",
            "",
            html! { p class="flash bad" { "Hub tidak dapat membaca datanya saat ini. Muat ulang halaman sebentar lagi; bila berulang, periksa log hub." } },
        ),
    )
        .into_response()
}

/// 403 for a form that did not come from this session's pages.
pub fn forged() -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            None,
            "Formulir ditolak",
            "",
            html! { p class="flash bad" { "Formulir ini kedaluwarsa atau bukan dari dasbor ini. Muat ulang halamannya, lalu kirim lagi." } },
        ),
    )
        .into_response()
}

/// A form posted from a page of another site, as the browser says in `Sec-Fetch-Site`, is
/// refused before anything runs, the sign-in included. (`Origin` is not compared with `Host`
/// here: behind the TLS proxy the two name different hosts; forms carry CSRF tokens.)
async fn same_site_forms(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() == axum::http::Method::POST {
        let site = request
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok());
        if karya_shared::web::cross_site(site, None, None) {
            return forged();
        }
    }
    next.run(request).await
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(ringkasan::ringkasan))
        .route("/masuk", get(login_form).post(login))
        .route("/keluar", post(logout))
        .route("/pelatihan", get(pelatihan::pelatihan))
        .route("/upt", get(upt::list))
        .route("/upt/{code}", get(upt::detail))
        .route("/katalog", get(katalog::katalog))
        .route("/antrean", get(antrean::antrean))
        .route("/rekap", get(antrean::rekap))
        .route("/katalog/ekspor", get(ekspor::ekspor))
        .route(
            "/katalog/keputusan",
            post(katalog::decide_many).layer(axum::extract::DefaultBodyLimit::max(256 * 1024)),
        )
        .route("/produk/{upt}/{id}", get(katalog::product))
        .route("/produk/{upt}/{id}/keputusan", post(katalog::decide))
        .layer(axum::middleware::from_fn(same_site_forms))
}

const STYLE: &str = "
*{box-sizing:border-box}body{font-family:Segoe UI,system-ui,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f8fb}
header{background:#173d5e;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.on{text-decoration:underline;font-weight:bold}
header form{margin-left:auto}main{padding:1rem 1.5rem}
table{border-collapse:collapse;margin:.8rem 0;background:#fff}td,th{border:1px solid #ccd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f7}.num{text-align:right}.ok{color:#17692e}.bad,.stale{color:#a4161a;font-weight:bold}
.flash{padding:.6rem .9rem;border-radius:4px;margin:.6rem 0}.flash.ok{background:#e3f4e8}.flash.bad{background:#fbe4e4}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #ccd;border-radius:6px;padding:.8rem 1.2rem}
.card b{display:block;font-size:1.4rem}fieldset{border:1px solid #ccd;background:#fff;margin:1rem 0;padding:.8rem}
label{display:inline-block;margin:.25rem .8rem .25rem 0}input,select,button,textarea{font-size:1rem;padding:.25rem .4rem}
.muted{color:#667}figure{display:inline-block;margin:0 1rem 1rem 0;vertical-align:top}
.chart{display:block;background:#fff;border:1px solid #ccd;padding:.6rem;margin:1rem 0}
img,svg,input,select,textarea,label{max-width:100%}fieldset{min-width:0}.chart{max-width:100%}.chart svg{height:auto}
@media (max-width:48rem){main{padding:.8rem}header{gap:.4rem 1rem}header form{margin-left:0}
table{display:block;overflow-x:auto;max-width:100%}}";

/// A page of the dashboard: its header with the navigation and logout (when signed in).
pub fn page(who: Option<&Curator>, title: &str, active: &str, body: Markup) -> Html<String> {
    let nav = [
        ("/", "Ringkasan"),
        ("/upt", "UPT"),
        ("/katalog", "Katalog"),
        ("/antrean", "Antrean"),
        ("/rekap", "Rekap"),
        ("/pelatihan", "Pelatihan"),
    ];
    Html(
        html! {
            (DOCTYPE)
            html lang="id" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " — karya" }
                    style { (maud::PreEscaped(STYLE)) }
                }
                body {
                    header {
                        strong { "karya · Ditjen Pemasyarakatan" }
                        @if let Some(c) = who {
                            @for (href, label) in nav {
                                a href=(href) class=[(href == active).then_some("on")] { (label) }
                            }
                            form method="post" action="/keluar" {
                                input type="hidden" name="csrf" value=(c.csrf);
                                span {
                                    (c.principal.name) " (" (c.principal.role.name())
                                    @if let Some(k) = &c.principal.kanwil { " · Kanwil " (k) }
                                    ") "
                                }
                                button type="submit" { "Keluar" }
                            }
                        }
                    }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The sign-in form with a fresh token, set also in a cookie: a POST must carry both (a
/// page of another site can make a browser post the form, not read the cookie).
fn login_page(status: StatusCode, message: Option<&str>) -> Response {
    let form_token = hex::encode(rand::random::<[u8; 24]>());
    let mut r = (
        status,
        page(
            None,
            "Masuk ke dasbor",
            "",
            html! {
                @if let Some(m) = message { p class="flash bad" role="alert" { (m) } }
                p { "Masukkan token viewer, curator atau admin dari admin hub." }
                form method="post" action="/masuk" {
                    input type="hidden" name="masuk" value=(form_token);
                    fieldset {
                        label { "Token " input name="token" type="password" size="60" autocomplete="off" required; }
                        button type="submit" { "Masuk" }
                    }
                }
            },
        ),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={form_token}; HttpOnly; SameSite=Strict; Path=/masuk"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
struct Login {
    token: String,
    #[serde(default)]
    masuk: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Login>,
) -> Response {
    let source = connect.map(|c| crate::auth::client_addr(c.0.0.ip(), &headers, &state.proxies));
    let too_many = || {
        login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                "Terlalu banyak percobaan masuk yang gagal dengan token ini atau dari alamat ini. Tunggu satu menit lalu coba lagi.",
            ),
        )
    };
    let from_our_form = cookie_named(&headers, LOGIN_COOKIE)
        .is_some_and(|c| karya_shared::web::same_secret(&c, &form.masuk));
    if !from_our_form {
        return login_page(
            StatusCode::FORBIDDEN,
            Some(
                "Halaman masuk ini sudah kedaluwarsa atau tidak berasal dari dasbor ini. Isi lagi formulir di bawah.",
            ),
        );
    }
    let token = form.token.trim().to_string();
    let check = token.clone();
    let verdict = match state.blocking(move |db| db.verify_token(&check)).await {
        Ok(Ok(v)) => v,
        _ => {
            return login_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Hub sedang sibuk; coba lagi sebentar lagi."),
            );
        }
    };
    match verdict {
        Ok(p) if p.role.can_read() => {
            let now = unix_now();
            let token_id = p.token_id.clone();
            let Ok(Ok((id, _))) = state
                .blocking(move |db| db.start_session(&token_id, now, LIMITS))
                .await
            else {
                return login_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some("Hub sedang sibuk; coba lagi sebentar lagi."),
                );
            };
            let secure = if state.config.cookie_secure {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                LIMITS.lifetime_secs
            );
            tracing::info!(name = %p.name, role = p.role.name(), "dashboard sign-in");
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(_) => {
            // A valid token of the wrong role: not a guess; not counted.
            login_page(
                StatusCode::UNAUTHORIZED,
                Some(
                    "Token agen UPT tidak dapat membuka dasbor. Gunakan token viewer, curator atau admin.",
                ),
            )
        }
        Err(rejection) => {
            if state.auth_refused(&rejection, source).is_err() {
                return too_many();
            }
            login_page(
                StatusCode::UNAUTHORIZED,
                Some("Token tidak valid atau sudah dicabut. Mintalah token baru kepada admin hub."),
            )
        }
    }
}

#[derive(serde::Deserialize)]
struct Csrf {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<Arc<AppState>>,
    curator: Result<Curator, ToLogin>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Csrf>,
) -> Response {
    let Ok(curator) = curator else {
        return Redirect::to("/masuk").into_response();
    };
    if !curator.form_is_ours(&form.csrf) {
        return forged();
    }
    if let Some(id) = session_of(&headers)
        && !matches!(
            state.blocking(move |db| db.end_session(&id)).await,
            Ok(Ok(()))
        )
    {
        return unavailable();
    }
    let mut r = Redirect::to("/masuk").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("karya_sesi=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    r
}
