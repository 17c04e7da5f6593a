//! The operator console: a small web application served by `karya-agent run`, in Bahasa
//! Indonesia, for the UPT's staff on their Windows PCs. Server-rendered HTML (maud escapes
//! by construction), plain forms, no JavaScript. It listens on 127.0.0.1 unless
//! `console.listen` opens it to the UPT's LAN.
//!
//! Every page needs a login (accounts: `karya-agent user add`). A session is a random id in an
//! HttpOnly, SameSite=Strict cookie; every form carries the session's CSRF token. Records are
//! written through the same functions as the command line, so the rules are the same.

pub mod pages;
pub mod users;

use crate::commands::{Command, Live};
use crate::config::{AgentConfig, Paths, write_private};
use crate::text::console as t;
use crate::{AgentError, records};
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use karya_shared::Store;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const COOKIE: &str = "karya_sesi";
/// A session ends after this long without a request.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// The largest spreadsheet the import page takes (as the import itself).
const MAX_UPLOAD: usize = crate::import::MAX_FILE_BYTES as usize + 64 * 1024;
/// The largest upload of photos in one form: four phone photos of the largest size taken.
const MAX_PHOTO_UPLOAD: usize = 4 * crate::photos::MAX_INPUT_BYTES as usize + 64 * 1024;

#[derive(Clone)]
struct Session {
    user: String,
    csrf: String,
    seen: Instant,
    /// The account's password tag at sign-in: `user rm` or `user passwd` ends the session.
    tag: String,
}

/// Password checks (Argon2id, 19 MiB each) running at once; more wait up to [`LOGIN_WAIT`],
/// then get 429. A flood of logins costs the UPT's sync service at most this much memory.
const LOGINS_AT_ONCE: usize = 2;
/// Requests with the store open at once (see `Console::stores`).
const STORES_AT_ONCE: usize = 4;
const LOGIN_WAIT: Duration = Duration::from_secs(3);
/// How often sessions are checked against the accounts (a removed account, a new password).
const SESSION_CHECK: Duration = Duration::from_secs(2);
/// The cookie that ties the sign-in form to the browser that loaded it.
const LOGIN_COOKIE: &str = "karya_masuk";

pub struct Console {
    paths: Paths,
    upt: String,
    commands: mpsc::Sender<Command>,
    live: Live,
    sessions: Mutex<HashMap<String, Session>>,
    /// One message to show on the next page of a session (after a redirect).
    flash: Mutex<HashMap<String, pages::Flash>>,
    /// Password checks running at once.
    logins: Arc<tokio::sync::Semaphore>,
    /// Requests holding the store open at once (each open loads the replica): a burst of
    /// page loads waits its turn instead of multiplying the agent's memory.
    stores: Arc<tokio::sync::Semaphore>,
    /// Sign-in attempts per client address in the current minute (see [`SOURCE_FAILURES`]).
    failures: karya_shared::web::Throttle<std::net::IpAddr>,
}

/// Failed sign-ins one address may make in a minute, whatever names it tries; then 429
/// until the minute is over, without a password check.
const SOURCE_FAILURES: u32 = 20;
const SOURCE_WINDOW: Duration = Duration::from_secs(60);

type Shared = Arc<Console>;

/// A page's error: shown as a page in words, never a stack trace.
pub struct PageError(StatusCode, String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.0, Html(pages::error_page(&self.1).into_string())).into_response()
    }
}

impl From<AgentError> for PageError {
    fn from(e: AgentError) -> Self {
        PageError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<karya_shared::StoreError> for PageError {
    fn from(e: karya_shared::StoreError) -> Self {
        AgentError::from(e).into()
    }
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

fn cookie_of(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

/// A signed-in operator, taken from the session cookie.
pub struct Operator {
    pub user: String,
    pub csrf: String,
    sid: String,
}

impl Console {
    fn operator(&self, headers: &HeaderMap) -> Option<Operator> {
        let sid = cookie_of(headers)?;
        let mut sessions = self.sessions.lock().expect("sessions");
        sessions.retain(|_, s| s.seen.elapsed() < IDLE);
        let s = sessions.get_mut(&sid)?;
        s.seen = Instant::now();
        Some(Operator {
            user: s.user.clone(),
            csrf: s.csrf.clone(),
            sid,
        })
    }

    fn flash(&self, op: &Operator, flash: pages::Flash) {
        self.flash
            .lock()
            .expect("flash")
            .insert(op.sid.clone(), flash);
    }

    fn take_flash(&self, op: &Operator) -> Option<pages::Flash> {
        self.flash.lock().expect("flash").remove(&op.sid)
    }

    /// The store, opened for one request's work on a blocking thread.
    async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store, &str, &Paths) -> Result<T, AgentError> + Send + 'static,
    ) -> Result<T, AgentError> {
        let paths = self.paths.clone();
        let upt = self.upt.clone();
        let _turn = self
            .stores
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AgentError::Io(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let mut store = crate::store::open_store(&paths)?;
            f(&mut store, &upt, &paths)
        })
        .await
        .map_err(|e| AgentError::Io(e.to_string()))?
    }
}

/// The operator of a request, or the way to the login page.
fn signed_in(state: &Console, headers: &HeaderMap) -> Result<Operator, Box<Response>> {
    state
        .operator(headers)
        .ok_or_else(|| Box::new(Redirect::to("/masuk").into_response()))
}

/// Checks a form's CSRF token against the session's.
fn csrf_ok(op: &Operator, given: &str) -> Result<(), PageError> {
    if karya_shared::web::same_secret(&op.csrf, given) {
        Ok(())
    } else {
        Err(PageError(StatusCode::FORBIDDEN, t::forged_form().into()))
    }
}

fn html(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}

/// Starts the console; returns where it listens.
pub async fn start(
    paths: &Paths,
    config: &AgentConfig,
    commands: mpsc::Sender<Command>,
    live: Live,
) -> Result<std::net::SocketAddr, AgentError> {
    let listen = config.console.listen();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| AgentError::Io(t::cannot_listen(&listen, &e.to_string())))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AgentError::Io(e.to_string()))?;
    let state: Shared = Arc::new(Console {
        paths: paths.clone(),
        upt: config.upt.clone(),
        commands,
        live,
        sessions: Mutex::new(HashMap::new()),
        flash: Mutex::new(HashMap::new()),
        logins: Arc::new(tokio::sync::Semaphore::new(LOGINS_AT_ONCE)),
        stores: Arc::new(tokio::sync::Semaphore::new(STORES_AT_ONCE)),
        failures: karya_shared::web::Throttle::new(SOURCE_FAILURES, SOURCE_WINDOW),
    });
    // Sessions of removed accounts, or of a password changed since (by `karya-agent user`
    // in another process), end within a few seconds.
    let checking = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SESSION_CHECK);
        loop {
            tick.tick().await;
            if checking.sessions.lock().expect("sessions").is_empty() {
                continue;
            }
            let Ok(tags) = checking.with_store(|s, _, _| users::tags(s)).await else {
                continue;
            };
            checking
                .sessions
                .lock()
                .expect("sessions")
                .retain(|_, s| tags.get(&s.user) == Some(&s.tag));
        }
    });
    let app = axum::Router::new()
        .route("/", get(beranda))
        .route("/masuk", get(login_page).post(login))
        .route("/keluar", post(logout))
        .route("/sinkron", post(sync_now))
        .route("/produk", get(products).post(add_product))
        .route("/produk/{id}", get(product).post(edit_product))
        .route("/produk/{id}/stok", post(stock))
        .route("/produk/{id}/hapus", post(remove_product))
        .route(
            "/produk/{id}/foto",
            post(add_photos).layer(DefaultBodyLimit::max(MAX_PHOTO_UPLOAD)),
        )
        .route("/produk/{id}/foto/{hash}/hapus", post(remove_photo))
        .route("/foto/{hash}", get(photo))
        .route("/penjualan", get(sales).post(add_sale))
        .route("/penjualan/{id}/batal", post(undo_sale))
        .route("/pelatihan", get(trainings).post(add_training))
        .route("/pelatihan/{id}/peserta", post(enroll))
        .route("/pelatihan/{id}/lulus", post(complete))
        .route("/impor", get(import_page).post(upload))
        .route("/impor/{token}", post(import_upload))
        .route("/log", get(log))
        .route("/log/bundel", get(bundle))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(axum::middleware::from_fn(same_site_forms))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    write_private(
        &paths.console_info(),
        &serde_json::json!({ "addr": addr }).to_string(),
    )?;
    Ok(addr)
}

/// A form posted from a page of another site (a page on the internet posting to
/// `127.0.0.1:8470`) is refused before anything runs, the sign-in included.
async fn same_site_forms(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() == axum::http::Method::POST {
        let h = request.headers();
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        if karya_shared::web::cross_site(text("sec-fetch-site"), text("origin"), text("host")) {
            return PageError(StatusCode::FORBIDDEN, t::forged_form().into()).into_response();
        }
    }
    next.run(request).await
}

/// Every page: not framed by another site, not cached, no content sniffing.
async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    r
}

/// Where the running service's console listens, if it runs.
pub fn running(paths: &Paths) -> Option<std::net::SocketAddr> {
    let text = std::fs::read_to_string(paths.console_info()).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["addr"].as_str()?.parse().ok()
}

// ---------- sign in ----------

async fn login_page(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.operator(&headers).is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let any = state.with_store(|s, _, _| users::any(s)).await?;
    Ok(login_form(StatusCode::OK, None, any))
}

/// The sign-in form with a fresh token, set also in a cookie: a POST must carry both.
fn login_form(status: StatusCode, message: Option<&str>, any: bool) -> Response {
    let token = random_id();
    let mut r = (
        status,
        Html(pages::login(message, any, &token).into_string()),
    )
        .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/masuk"
        ))
        .expect("cookie"),
    );
    r
}

#[derive(Deserialize)]
struct LoginForm {
    nama: String,
    sandi: String,
    #[serde(default)]
    masuk: String,
}

async fn login(
    State(state): State<Shared>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    // The form this browser loaded, not one posted from elsewhere.
    if !cookie_named(&headers, LOGIN_COOKIE)
        .is_some_and(|c| karya_shared::web::same_secret(&c, &f.masuk))
    {
        return Ok(login_form(
            StatusCode::FORBIDDEN,
            Some(t::login_form_stale()),
            true,
        ));
    }
    // An address that failed too often this minute: refused without a password check.
    // Counted before the check, so parallel attempts cannot pass the limit; a success
    // gives its count back.
    if state.failures.take(&peer.ip()).is_err() {
        return Ok(login_form(
            StatusCode::TOO_MANY_REQUESTS,
            Some(t::login_from_here()),
            true,
        ));
    }
    // At most a few password checks at once; the rest wait a little, then are told to.
    let Ok(Ok(_turn)) =
        tokio::time::timeout(LOGIN_WAIT, state.logins.clone().acquire_owned()).await
    else {
        return Ok(login_form(
            StatusCode::TOO_MANY_REQUESTS,
            Some(t::login_busy()),
            true,
        ));
    };
    let name = f.nama.trim().to_string();
    let result = state
        .with_store(move |s, _, _| users::login(s, &name, &f.sandi))
        .await?;
    match result {
        Ok(tag) => {
            state.failures.give_back(&peer.ip());
            let sid = random_id();
            state.sessions.lock().expect("sessions").insert(
                sid.clone(),
                Session {
                    user: f.nama.trim().to_string(),
                    csrf: random_id(),
                    seen: Instant::now(),
                    tag,
                },
            );
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!(
                    "{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/"
                ))
                .expect("cookie"),
            );
            Ok(r)
        }
        Err(why) => {
            let message = match why {
                users::LoginRefused::Wrong => t::login_wrong().to_string(),
                users::LoginRefused::SlowDown(secs) => t::login_slowed(secs),
            };
            Ok(login_form(StatusCode::UNAUTHORIZED, Some(&message), true))
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let op = match signed_in(&state, &headers) {
        Ok(op) => op,
        Err(r) => return Ok(*r),
    };
    csrf_ok(&op, &f.csrf)?;
    state.sessions.lock().expect("sessions").remove(&op.sid);
    let mut r = Redirect::to("/masuk").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("karya_sesi=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(r)
}

macro_rules! operator {
    ($state:expr, $headers:expr) => {
        match signed_in(&$state, &$headers) {
            Ok(op) => op,
            Err(r) => return Ok(*r),
        }
    };
}

// ---------- beranda ----------

async fn beranda(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let live = state.live.clone();
    let report = state
        .with_store(move |_, _, paths| {
            let mut report = crate::status::status_report(paths, true)?;
            if let Some(problem) = live.storage_problem() {
                report.state = crate::status::State::DiskFull;
                report.last_error = Some(problem);
            }
            Ok(report)
        })
        .await?;
    let flash = state.take_flash(&op);
    Ok(html(pages::beranda(&op, &report, flash)))
}

async fn sync_now(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let (tx, rx) = oneshot::channel();
    let flash = match state.commands.send(Command::SyncNow(tx)).await {
        Err(_) => pages::Flash::bad(t::service_stopping()),
        Ok(()) => match rx.await {
            Ok(Ok(outcome)) => pages::Flash::synced(&outcome),
            Ok(Err(failure)) => pages::Flash::sync_failed(&failure),
            Err(_) => pages::Flash::bad(t::service_stopped()),
        },
    };
    state.flash(&op, flash);
    Ok(Redirect::to("/").into_response())
}

// ---------- produk ----------

#[derive(Deserialize, Default)]
struct ProductQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kategori: String,
}

async fn products(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ProductQuery>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let (rows, cats) = state
        .with_store(|store, upt, _| {
            let rows = karya_shared::views::products(
                &mut karya_shared::sql::Sql::Lite(&store.conn()),
                &karya_shared::views::ProductFilter {
                    upt: Some(upt.to_string()),
                    ..Default::default()
                },
            )?;
            Ok((rows, records::category_choices(store, false)?))
        })
        .await?;
    let needle = q.q.trim().to_lowercase();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|p| q.kategori.is_empty() || p.category == q.kategori)
        .filter(|p| {
            needle.is_empty()
                || p.name.to_lowercase().contains(&needle)
                || p.id.starts_with(&needle)
        })
        .collect();
    let flash = state.take_flash(&op);
    Ok(html(pages::products(
        &op,
        &rows,
        &cats,
        &q.q,
        &q.kategori,
        flash,
    )))
}

#[derive(Deserialize, Default, Clone)]
pub struct ProductForm {
    pub csrf: String,
    #[serde(default)]
    pub nama: String,
    #[serde(default)]
    pub kategori: String,
    #[serde(default)]
    pub harga: String,
    #[serde(default)]
    pub satuan: String,
    #[serde(default)]
    pub stok: String,
    #[serde(default)]
    pub bengkel: String,
    #[serde(default)]
    pub deskripsi: String,
    #[serde(default)]
    pub sertifikasi: String,
    #[serde(default)]
    pub usulkan: Option<String>,
}

fn certifications(text: &str) -> Result<Vec<karya_shared::model::Certification>, String> {
    text.split(';')
        .filter(|c| !c.trim().is_empty())
        .map(|c| karya_shared::model::Certification::parse(c).map_err(|e| e.reason))
        .collect()
}

fn whole(label: &str, text: &str, default: Option<i64>) -> Result<i64, String> {
    if text.trim().is_empty()
        && let Some(d) = default
    {
        return Ok(d);
    }
    karya_shared::input::parse_whole(text).map_err(|e| t::field_problem(label, &e))
}

async fn add_product(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<ProductForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let parsed = (|| -> Result<records::NewProduct, String> {
        Ok(records::NewProduct {
            name: f.nama.clone(),
            category: f.kategori.clone(),
            price_idr: whole(t::price(), &f.harga, None)?,
            unit: Some(f.satuan.trim().to_string()).filter(|u| !u.is_empty()),
            stock: whole(t::stock(), &f.stok, Some(0))?,
            workshop: f.bengkel.trim().to_string(),
            description: f.deskripsi.trim().to_string(),
            nominated: f.usulkan.is_some(),
            certifications: certifications(&f.sertifikasi)?,
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

async fn product(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let found = state
        .with_store(move |s, upt, _| {
            let id = records::resolve_product(s, upt, &id)?;
            let row =
                karya_shared::views::product(&mut karya_shared::sql::Sql::Lite(&s.conn()), &id)?;
            Ok((row, records::category_choices(s, false)?))
        })
        .await;
    let (Some(row), cats) = found.map_err(|_| not_found())? else {
        return Err(not_found());
    };
    let flash = state.take_flash(&op);
    Ok(html(pages::product_page(&op, &row, &cats, flash)))
}

fn not_found() -> PageError {
    PageError(StatusCode::NOT_FOUND, t::product_not_found().into())
}

async fn edit_product(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ProductForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let patch = (|| -> Result<karya_shared::model::ProductPatch, String> {
        Ok(karya_shared::model::ProductPatch {
            name: Some(f.nama.trim().to_string()),
            category: Some(f.kategori.clone()),
            description: Some(f.deskripsi.trim().to_string()),
            price_idr: Some(whole(t::price(), &f.harga, None)?),
            unit: Some(f.satuan.trim().to_string()),
            workshop: Some(f.bengkel.trim().to_string()),
            certifications: Some(certifications(&f.sertifikasi)?),
            photos: None,
            nominated: Some(f.usulkan.is_some()),
        })
    })();
    let target = id.clone();
    let result = match patch {
        Err(e) => Err(e),
        Ok(patch) => state
            .with_store(move |s, upt, _| Ok(records::edit_product(s, upt, &target, &patch)?))
            .await
            .map_err(|e| pages::in_words(&e)),
    };
    match result {
        Ok(_) => state.flash(&op, pages::Flash::good(t::changes_saved())),
        Err(e) => state.flash(&op, pages::Flash::bad(&e)),
    }
    Ok(Redirect::to(&format!("/produk/{id}")).into_response())
}

#[derive(Deserialize)]
struct StockForm {
    csrf: String,
    jumlah: String,
    arah: String,
}

async fn stock(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<StockForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let target = id.clone();
    let result = match whole(t::quantity(), &f.jumlah, None) {
        Err(e) => Err(e),
        Ok(n) => {
            let delta = if f.arah == "kurang" { -n } else { n };
            state
                .with_store(move |s, upt, _| Ok(records::add_stock(s, upt, &target, delta)?))
                .await
                .map_err(|e| pages::in_words(&e))
        }
    };
    match result {
        Ok((_, now)) => state.flash(
            &op,
            pages::Flash::good(&t::stock_now(&karya_shared::localtime::thousands(now))),
        ),
        Err(e) => state.flash(&op, pages::Flash::bad(&e)),
    }
    Ok(Redirect::to(&format!("/produk/{id}")).into_response())
}

async fn remove_product(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    match state
        .with_store(move |s, upt, _| Ok(records::remove_product(s, upt, &id)?))
        .await
    {
        Ok(_) => state.flash(&op, pages::Flash::good(t::product_removed())),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to("/produk").into_response())
}

// ---------- foto ----------

/// Photos added from the product page: cleaned and shrunk as with `product photo add`.
async fn add_photos(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
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
    let target = id.clone();
    let result = if files.is_empty() {
        Err(t::choose_photo().to_string())
    } else {
        state
            .with_store(move |s, upt, paths| {
                std::fs::create_dir_all(paths.uploads())
                    .map_err(|e| AgentError::Io(e.to_string()))?;
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
                let added =
                    records::add_photos(s, &paths.dir, upt, &target, &saved, caption.trim());
                for p in &saved {
                    let _ = std::fs::remove_file(p);
                }
                added
            })
            .await
            .map_err(|e| pages::in_words(&e))
    };
    match result {
        Ok(added) => state.flash(&op, pages::Flash::good(&t::photos_added(added.len()))),
        Err(e) => state.flash(&op, pages::Flash::bad(&e)),
    }
    Ok(Redirect::to(&format!("/produk/{id}")).into_response())
}

async fn remove_photo(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((id, hash)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let target = id.clone();
    match state
        .with_store(move |s, upt, _| records::remove_photo(s, upt, &target, &hash))
        .await
    {
        Ok(_) => state.flash(&op, pages::Flash::good(t::photo_removed())),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to(&format!("/produk/{id}")).into_response())
}

/// A photo or thumbnail kept on this PC, for the product page.
async fn photo(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, PageError> {
    let _op = operator!(state, headers);
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

// ---------- penjualan ----------

async fn sales(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let (sales, products) = state
        .with_store(|s, upt, _| {
            let products = karya_shared::views::products(
                &mut karya_shared::sql::Sql::Lite(&s.conn()),
                &karya_shared::views::ProductFilter {
                    upt: Some(upt.to_string()),
                    ..Default::default()
                },
            )?;
            Ok((records::recent_sales(s, upt, 200)?, products))
        })
        .await?;
    let flash = state.take_flash(&op);
    Ok(html(pages::sales(&op, &sales, &products, flash)))
}

#[derive(Deserialize)]
struct SaleForm {
    csrf: String,
    produk: String,
    jumlah: String,
    pendapatan: String,
    #[serde(default)]
    tanggal: String,
    #[serde(default)]
    kanal: String,
}

async fn add_sale(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<SaleForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let parsed = (|| -> Result<_, String> {
        let date = if f.tanggal.trim().is_empty() {
            None
        } else {
            Some(
                karya_shared::input::parse_date(&f.tanggal)
                    .map_err(|e| t::field_problem(t::date(), &e))?,
            )
        };
        let channel = if f.kanal.trim().is_empty() {
            None
        } else {
            Some(
                karya_shared::input::match_choice(
                    "channel",
                    &f.kanal,
                    &karya_shared::input::choices_of(karya_shared::model::SaleChannel::NAMES),
                )
                .and_then(|c| c.parse())
                .map_err(|e| t::field_problem(t::channel(), &e.reason))?,
            )
        };
        Ok((
            whole(t::quantity(), &f.jumlah, None)?,
            whole(t::revenue(), &f.pendapatan, None)?,
            date,
            channel,
        ))
    })();
    let result = match parsed {
        Err(e) => Err(e),
        Ok((qty, revenue, date, channel)) => {
            let product = f.produk.clone();
            state
                .with_store(move |s, upt, _| {
                    let product = records::resolve_product(s, upt, &product)?;
                    let sale = records::new_sale(product, qty, revenue, date, channel);
                    records::add_sales(s, upt, std::slice::from_ref(&sale), &[])?;
                    Ok(sale)
                })
                .await
                .map_err(|e| pages::in_words(&e))
        }
    };
    match result {
        Ok(s) => state.flash(
            &op,
            pages::Flash::good(&t::sale_recorded(
                &karya_shared::localtime::date(s.date),
                &karya_shared::localtime::thousands(s.quantity),
                &karya_shared::localtime::rupiah(s.revenue_idr),
            )),
        ),
        Err(e) => state.flash(&op, pages::Flash::bad(&e)),
    }
    Ok(Redirect::to("/penjualan").into_response())
}

async fn undo_sale(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    match state
        .with_store(move |s, upt, _| Ok(records::remove_sale(s, upt, &id)?))
        .await
    {
        Ok(()) => state.flash(&op, pages::Flash::good(t::sale_undone())),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to("/penjualan").into_response())
}

// ---------- pelatihan ----------

async fn trainings(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let (rows, cats, people) = state
        .with_store(|s, upt, _| {
            let rows = karya_shared::views::trainings(
                &mut karya_shared::sql::Sql::Lite(&s.conn()),
                Some(upt),
                None,
            )?;
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
            Ok((rows, records::category_choices(s, true)?, people))
        })
        .await?;
    let flash = state.take_flash(&op);
    Ok(html(pages::trainings(&op, &rows, &cats, &people, flash)))
}

#[derive(Deserialize)]
struct TrainingForm {
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

async fn add_training(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<TrainingForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
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
    let result = match parsed {
        Err(e) => Err(e),
        Ok(new) => state
            .with_store(move |s, upt, _| {
                let t = new.into_training();
                records::add_trainings(s, upt, std::slice::from_ref(&t), &[])?;
                Ok(t)
            })
            .await
            .map_err(|e| pages::in_words(&e)),
    };
    match result {
        Ok(training) => state.flash(
            &op,
            pages::Flash::good(&t::training_added(&training.program)),
        ),
        Err(e) => state.flash(&op, pages::Flash::bad(&e)),
    }
    Ok(Redirect::to("/pelatihan").into_response())
}

#[derive(Deserialize)]
struct EnrollForm {
    csrf: String,
    nama: String,
    nomor: String,
}

async fn enroll(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<EnrollForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let name = f.nama.clone();
    match state
        .with_store(move |s, upt, _| Ok(records::enroll(s, upt, &id, &f.nomor, &f.nama)?))
        .await
    {
        Ok(_) => state.flash(&op, pages::Flash::good(&t::person_enrolled(name.trim()))),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to("/pelatihan").into_response())
}

#[derive(Deserialize)]
struct CompleteForm {
    csrf: String,
    nomor: String,
    #[serde(default)]
    sertifikat: String,
}

async fn complete(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CompleteForm>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, &f.csrf)?;
    let cert = Some(f.sertifikat.trim().to_string()).filter(|c| !c.is_empty());
    match state
        .with_store(move |s, upt, _| Ok(records::complete(s, upt, &id, &f.nomor, cert)?))
        .await
    {
        Ok(_) => state.flash(&op, pages::Flash::good(t::completion_recorded())),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to("/pelatihan").into_response())
}

// ---------- impor ----------

async fn import_page(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let flash = state.take_flash(&op);
    Ok(html(pages::import_page(&op, None, flash)))
}

/// An uploaded file's name in the uploads folder: a random token and the file's extension.
fn upload_path(paths: &Paths, token: &str, ext: &str) -> std::path::PathBuf {
    paths.uploads().join(format!("{token}.{ext}"))
}

async fn upload(
    State(state): State<Shared>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("berkas") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    PageError(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        t::file_unreadable(&e.to_string()),
                    )
                })?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    csrf_ok(&op, &csrf)?;
    let Some((name, bytes)) = file.filter(|(n, b)| !n.is_empty() && !b.is_empty()) else {
        state.flash(&op, pages::Flash::bad(t::choose_file()));
        return Ok(Redirect::to("/impor").into_response());
    };
    let ext = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if !matches!(
        ext.as_str(),
        "csv" | "txt" | "xlsx" | "xlsm" | "xls" | "ods"
    ) {
        state.flash(&op, pages::Flash::bad(&t::not_importable(&ext)));
        return Ok(Redirect::to("/impor").into_response());
    }
    let token = random_id();
    let preview = state
        .with_store(move |s, upt, paths| {
            std::fs::create_dir_all(paths.uploads()).map_err(|e| AgentError::Io(e.to_string()))?;
            let path = upload_path(paths, &token, &ext);
            std::fs::write(&path, &bytes).map_err(|e| AgentError::Io(e.to_string()))?;
            Ok(pages::Preview::of(s, upt, &path, &name, &token))
        })
        .await?;
    Ok(html(pages::import_page(&op, Some(&preview), None)))
}

async fn import_upload(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    csrf_ok(&op, f.get("csrf").map(String::as_str).unwrap_or(""))?;
    if token.len() != 48 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PageError(
            StatusCode::NOT_FOUND,
            t::upload_not_found().into(),
        ));
    }
    let name = f.get("nama").cloned().unwrap_or_default();
    let result = state
        .with_store(move |s, upt, paths| {
            let found = std::fs::read_dir(paths.uploads())
                .map_err(|e| AgentError::Io(e.to_string()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(token.as_str()));
            let Some(path) = found else {
                return Err(AgentError::Usage(t::upload_not_found().into()));
            };
            let result = crate::import::import_file_with(s, upt, &path, Default::default());
            let _ = std::fs::remove_file(&path);
            let report = result?;
            crate::identity::note_event(
                s,
                "import",
                &t::event_imported(
                    report.rows,
                    crate::text::agent::import_kind(&format!("{:?}", report.kind).to_lowercase()),
                    &name,
                ),
            );
            Ok(report)
        })
        .await;
    match result {
        Ok(r) => state.flash(&op, pages::Flash::good(&t::rows_imported(r.rows))),
        Err(e) => state.flash(&op, pages::Flash::bad(&pages::in_words(&e))),
    }
    Ok(Redirect::to("/impor").into_response())
}

// ---------- log ----------

async fn log(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let op = operator!(state, headers);
    let events = state
        .with_store(|s, _, _| Ok(crate::identity::events(s, 200)?))
        .await?;
    Ok(html(pages::log(&op, &events)))
}

/// A support bundle: the status, the recent events and the versions; never names,
/// registration numbers, tokens or the secret.
async fn bundle(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let _op = operator!(state, headers);
    let body = state
        .with_store(|s, _, paths| {
            let mut status = serde_json::to_value(crate::status::status_report(paths, true)?)
                .unwrap_or_default();
            if let Some(o) = status.as_object_mut() {
                o.remove("token");
            }
            Ok(serde_json::json!({
                "karya_agent": env!("CARGO_PKG_VERSION"),
                "os": std::env::consts::OS,
                "status": status,
                "events": crate::identity::events(s, 200)?,
            }))
        })
        .await?;
    let mut r = (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"karya-dukungan.json\""),
    );
    Ok(r)
}
