//! The operator console: a small web application served by `karya-agent run`, in Bahasa
//! Indonesia, for the UPT's staff on their Windows PCs. Server-rendered HTML (maud escapes
//! by construction), plain forms, no JavaScript. It listens on 127.0.0.1 unless
//! `console.listen` opens it to the UPT's LAN.
//!
//! Every page needs a login (accounts: `karya-agent user add`). A session is a random id in an
//! HttpOnly, SameSite=Strict cookie; every form carries the session's CSRF token, checked by
//! the [`Posted`] extractor before a handler runs. Records are written through the same
//! functions as the command line, so the rules are the same. The handlers live one file per
//! page (`home`, `products`, `sales`, `trainings`, `import`, `log`, `login`); their HTML is in
//! `pages`.

mod home;
mod import;
mod log;
mod login;
pub mod pages;
mod products;
mod sales;
mod settings;
mod trainings;
pub mod users;

pub use products::ProductForm;

use crate::commands::{Command, Live};
use crate::config::{AgentConfig, Paths, write_private};
use crate::text::console as t;
use crate::{AgentError, records};
use axum::extract::{
    DefaultBodyLimit, Form, FromRequest, FromRequestParts, Multipart, Path, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use karya_shared::Store;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
    /// An admin account's (`user add --admin`): may change the UPT's token here.
    pub admin: bool,
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
            admin: users::is_admin_tag(&s.tag),
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

    /// Runs one change of a posted form with the store, says on the next page how it went
    /// (`said` words a success; a failure is told in the operator's words), and sends the
    /// browser to `to`.
    async fn change<T: Send + 'static>(
        self: &Arc<Self>,
        op: &Operator,
        to: &str,
        f: impl FnOnce(&mut Store, &str, &Paths) -> Result<T, AgentError> + Send + 'static,
        said: impl FnOnce(T) -> String,
    ) -> Response {
        match self.with_store(f).await {
            Ok(v) => self.flash(op, pages::Flash::good(&said(v))),
            Err(e) => self.flash(op, pages::Flash::bad(&pages::in_words(&e))),
        }
        Redirect::to(to).into_response()
    }

    /// As [`Self::change`], and a failure shows the form again with what the operator
    /// typed (`typed`: its fields and values).
    async fn change_keeping<T: Send + 'static>(
        self: &Arc<Self>,
        op: &Operator,
        to: &str,
        typed: Vec<(String, String)>,
        f: impl FnOnce(&mut Store, &str, &Paths) -> Result<T, AgentError> + Send + 'static,
        said: impl FnOnce(T) -> String,
    ) -> Response {
        match self.with_store(f).await {
            Ok(v) => self.flash(op, pages::Flash::good(&said(v))),
            Err(e) => {
                let mut flash = pages::Flash::bad(&pages::in_words(&e));
                flash.typed = typed;
                self.flash(op, flash);
            }
        }
        Redirect::to(to).into_response()
    }

    /// As [`Self::refuse`], keeping what the operator typed for the form shown again.
    fn refuse_keeping(
        &self,
        op: &Operator,
        to: &str,
        problem: &str,
        typed: Vec<(String, String)>,
    ) -> Response {
        let mut flash = pages::Flash::bad(problem);
        flash.typed = typed;
        self.flash(op, flash);
        Redirect::to(to).into_response()
    }

    /// A posted form refused before anything ran: the problem is said on the page at `to`.
    fn refuse(&self, op: &Operator, to: &str, problem: &str) -> Response {
        self.flash(op, pages::Flash::bad(problem));
        Redirect::to(to).into_response()
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

/// A page's signed-in operator: without a session, the browser goes to the sign-in page.
impl FromRequestParts<Shared> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        state
            .operator(&parts.headers)
            .ok_or_else(|| Redirect::to("/masuk").into_response())
    }
}

/// A form that carries the session's CSRF token.
trait WithCsrf {
    fn csrf(&self) -> &str;
}

/// A form posted by the signed-in operator, its CSRF token checked against the session's
/// (a forged one is 403); without a session, the browser goes to the sign-in page. Every
/// form of the console but the sign-in and the file uploads comes through here.
struct Posted<T>(Operator, T);

impl<T> FromRequest<Shared> for Posted<T>
where
    T: DeserializeOwned + WithCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let op = state
            .operator(req.headers())
            .ok_or_else(|| Redirect::to("/masuk").into_response())?;
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        csrf_ok(&op, form.csrf()).map_err(IntoResponse::into_response)?;
        Ok(Posted(op, form))
    }
}

/// Implements [`WithCsrf`] for forms whose token is their `csrf` field.
macro_rules! with_csrf {
    ($($form:ty),+ $(,)?) => {
        $(impl WithCsrf for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
use with_csrf;

with_csrf!(CsrfForm, ConfirmForm);

impl WithCsrf for HashMap<String, String> {
    fn csrf(&self) -> &str {
        self.get("csrf").map(String::as_str).unwrap_or("")
    }
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
        .route("/", get(home::beranda))
        .route("/masuk", get(login::login_page).post(login::login))
        .route("/keluar", post(login::logout))
        .route("/sinkron", post(home::sync_now))
        .route(
            "/produk",
            get(products::products).post(products::add_product),
        )
        .route(
            "/produk/{id}",
            get(products::product).post(products::edit_product),
        )
        .route("/produk/{id}/stok", post(products::stock))
        .route("/produk/{id}/hapus", post(products::remove_product))
        .route(
            "/produk/{id}/foto",
            post(products::add_photos).layer(DefaultBodyLimit::max(MAX_PHOTO_UPLOAD)),
        )
        .route(
            "/produk/{id}/foto/{hash}/hapus",
            post(products::remove_photo),
        )
        .route("/foto/{hash}", get(products::photo))
        .route("/penjualan", get(sales::sales).post(sales::add_sale))
        .route("/penjualan/{id}/batal", post(sales::undo_sale))
        .route(
            "/pelatihan",
            get(trainings::trainings).post(trainings::add_training),
        )
        .route("/pelatihan/{id}/peserta", post(trainings::enroll))
        .route("/pelatihan/{id}/lulus", post(trainings::complete))
        .route("/impor", get(import::import_page).post(import::upload))
        .route("/impor/{token}", post(import::import_upload))
        .route("/log", get(log::log))
        .route("/pengaturan", get(settings::settings))
        .route("/pengaturan/token", post(settings::set_token))
        .route("/templat/{file}", get(settings::template))
        .route("/log/bundel", get(log::bundle))
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

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A destructive action's form: `yakin=ya` once the operator confirmed on the page that
/// names what goes.
#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    yakin: String,
}

impl ConfirmForm {
    fn confirmed(&self) -> bool {
        self.yakin == "ya"
    }
}

fn whole(label: &str, text: &str, default: Option<i64>) -> Result<i64, String> {
    if text.trim().is_empty()
        && let Some(d) = default
    {
        return Ok(d);
    }
    karya_shared::input::parse_whole(text).map_err(|e| t::field_problem(label, &e))
}

/// An uploaded file's name in the uploads folder: a random token and the file's extension.
fn upload_path(paths: &Paths, token: &str, ext: &str) -> std::path::PathBuf {
    paths.uploads().join(format!("{token}.{ext}"))
}
