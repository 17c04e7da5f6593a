//! Test harness for karya's end-to-end tests and the simulation: a hub running in-process on
//! a port-0 listener, paths to the real binaries, and the link proxy.

pub mod abuse;
pub mod browser;
pub mod certs;
pub mod dashboard_bench;
pub mod inproc;
pub mod memagent;
pub mod offline;
pub mod pg;
pub mod procs;
pub mod proxy;
pub mod sim;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A hub served in-process from a temporary directory; stopped (gracefully) on drop.
pub struct TestHub {
    pub addr: SocketAddr,
    pub db: PathBuf,
    /// The running hub's state (its database, metrics, and the test-only fault hook).
    pub state: std::sync::Arc<karya_hub::AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL server the hub's database is on (with `KARYA_HUB_STORE=postgres`).
    _pg: Option<std::sync::Arc<pg::PgServer>>,
}

/// Whether the tests' hubs keep their data on PostgreSQL (`KARYA_HUB_STORE=postgres`: the
/// hub suite runs once on each store), rather than in a SQLite file.
pub fn hub_on_postgres() -> bool {
    std::env::var("KARYA_HUB_STORE").is_ok_and(|v| v == "postgres")
}

/// Servers started for the tests' hubs, by database address, while a hub uses them (a hub
/// started again on the same database finds its server here).
static PG_SERVERS: std::sync::Mutex<Vec<(String, std::sync::Weak<pg::PgServer>)>> =
    std::sync::Mutex::new(Vec::new());

fn pg_server_of(url: &str) -> Option<std::sync::Arc<pg::PgServer>> {
    PG_SERVERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(u, _)| u == url)
        .and_then(|(_, w)| w.upgrade())
}

/// A new PostgreSQL server with an empty database for a hub; its address.
fn new_pg_database() -> (std::sync::Arc<pg::PgServer>, String) {
    let server = std::sync::Arc::new(pg::PgServer::start());
    let url = server.create_database("hub");
    let mut servers = PG_SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    servers.retain(|(_, w)| w.strong_count() > 0);
    servers.push((url.clone(), std::sync::Arc::downgrade(&server)));
    (server, url)
}

impl TestHub {
    pub async fn start() -> TestHub {
        Self::start_configured(karya_hub::Config::default()).await
    }

    /// A hub on an existing database file (to restart one).
    pub async fn start_on(db: &Path) -> TestHub {
        let url = db.to_string_lossy();
        if karya_shared::store::is_postgres_url(&url) {
            let server = pg_server_of(&url).expect("the PostgreSQL server of this database");
            let dir = tempfile::tempdir().expect("temp dir");
            let mut hub = Self::start_with(karya_hub::Config {
                db: db.to_path_buf(),
                blobs_dir: Some(dir.path().join("blobs")),
                ..karya_hub::Config::default()
            })
            .await;
            hub._dir = Some(dir);
            hub._pg = Some(server);
            return hub;
        }
        Self::start_with(karya_hub::Config {
            db: db.to_path_buf(),
            ..karya_hub::Config::default()
        })
        .await
    }

    /// A hub with its own settings, in a temporary directory unless `config.db` says where.
    pub async fn start_configured(config: karya_hub::Config) -> TestHub {
        if config.db != karya_hub::Config::default().db {
            return Self::start_with(config).await;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        if hub_on_postgres() {
            let (server, url) = new_pg_database();
            let mut hub = Self::start_with(karya_hub::Config {
                db: PathBuf::from(url),
                blobs_dir: config
                    .blobs_dir
                    .clone()
                    .or_else(|| Some(dir.path().join("blobs"))),
                ..config
            })
            .await;
            hub._dir = Some(dir);
            hub._pg = Some(server);
            return hub;
        }
        let mut hub = Self::start_with(karya_hub::Config {
            db: dir.path().join("hub.db"),
            ..config
        })
        .await;
        hub._dir = Some(dir);
        hub
    }

    async fn start_with(config: karya_hub::Config) -> TestHub {
        let db = config.db.clone();
        let state = std::sync::Arc::new(
            karya_hub::AppState::new(config, karya_hub::db::Create::IfMissing).expect("hub state"),
        );
        let serving = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            karya_hub::serve_with(serving, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("hub serves");
        });
        TestHub {
            addr,
            db,
            state,
            shutdown: Some(tx),
            task: Some(task),
            _dir: None,
            _pg: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens the hub's database the way the admin CLI does (a second handle on the file).
    pub fn admin_db(&self) -> karya_hub::db::HubDb {
        karya_hub::db::HubDb::open(
            &karya_hub::Config {
                db: self.db.clone(),
                ..Default::default()
            },
            karya_hub::db::Create::No,
        )
        .expect("open hub db")
    }

    /// The hub's database as a plain replica store, for tests that look inside it.
    pub fn admin_store(&self) -> karya_shared::store::AnyStore {
        karya_shared::store::AnyStore::open_any(
            &self.db.to_string_lossy(),
            Some(karya_hub::db::SCHEMA),
            Some(karya_hub::db::PG_SCHEMA),
            2,
        )
        .expect("open hub db")
    }

    /// Holds the database's write lock as another process would, until dropped: SQLite's
    /// (`BEGIN IMMEDIATE`), or on PostgreSQL every table the hub writes locked against
    /// writers (reads go on).
    pub fn hold_write_lock(&self) -> WriteLock {
        let url = self.db.to_string_lossy().into_owned();
        if karya_shared::store::is_postgres_url(&url) {
            let (release, released) = std::sync::mpsc::channel::<()>();
            let (locked, is_locked) = std::sync::mpsc::channel::<()>();
            let holder = std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                let mut tx = c.transaction().expect("begin");
                tx.batch_execute(
                    "LOCK TABLE meta, docs, chunks, sync_states, change_log, upt_status IN EXCLUSIVE MODE",
                )
                .expect("lock");
                let _ = locked.send(());
                let _ = released.recv();
                tx.rollback().expect("rollback");
            });
            is_locked.recv().expect("the lock is held");
            return WriteLock::Postgres(Some((release, holder)));
        }
        let writer = rusqlite::Connection::open(&self.db).expect("open the hub's database");
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('held', 'yes');")
            .expect("take the write lock");
        WriteLock::Sqlite(writer)
    }

    /// The one row `sql` gives on the hub's database (either store), read by `f`.
    pub fn row<T>(
        &self,
        sql: &str,
        params: impl karya_shared::sql::Params + Clone,
        f: impl Fn(&karya_shared::sql::SqlRow<'_>) -> rusqlite::Result<T>,
    ) -> T {
        self.sql(|c| c.query_row(sql, params.clone(), &f))
    }

    /// Runs `f` on a connection to the hub's database (either store), for tests that look
    /// inside it.
    pub fn sql<T>(
        &self,
        f: impl FnMut(&mut karya_shared::sql::Sql<'_>) -> Result<T, karya_shared::StoreError>,
    ) -> T {
        self.admin_store()
            .backend()
            .read(f)
            .expect("a query on the hub's database")
    }

    /// Registers a UPT and returns its agent token.
    pub fn add_upt(&self, code: &str, kind: &str, kanwil: &str) -> String {
        let upt = karya_shared::model::UptInfo::new(
            code,
            &format!("UPT {code}"),
            kind.parse().expect("a UPT type"),
            kanwil,
        );
        self.admin_db()
            .register_upts(&[upt], false)
            .expect("register")
            .remove(0)
            .1
            .expect("a new UPT gets a token")
    }

    pub fn issue(&self, role: karya_hub::auth::Role, name: &str) -> (String, String) {
        self.admin_db().issue_token(&role, name).expect("token")
    }

    /// Stops the hub and waits until it has.
    pub async fn stop(mut self) {
        self.stop_inner().await;
    }

    async fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The write lock of a hub's database, held by "another process" until dropped.
pub enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>),
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        match self {
            WriteLock::Sqlite(c) => {
                let _ = c.execute_batch("ROLLBACK");
            }
            WriteLock::Postgres(held) => {
                if let Some((release, holder)) = held.take() {
                    let _ = release.send(());
                    let _ = holder.join();
                }
            }
        }
    }
}

/// The sample UPTs committed with the tests (from the project's data set).
pub const SAMPLE_UPTS: &str = include_str!("../data/upt-sample.csv");

/// (code, name, type, kanwil) of the sample UPTs.
pub fn sample_upts() -> Vec<(String, String, String, String)> {
    SAMPLE_UPTS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, ',').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect()
}

/// Where cargo put this workspace's binaries (target/debug or target/release).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A phone photo as a camera writes it: a JPEG of `w` x `h` pixels with an EXIF block that
/// says "rotate 90° clockwise" and holds a GPS entry followed by [`GPS_MARKER`], so a test
/// can search any copy of it for the location.
pub fn phone_photo(w: u32, h: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut exif = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    exif.extend_from_slice(&[2, 0]);
    exif.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    exif.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    exif.extend_from_slice(&[1, 0]);
    exif.extend_from_slice(&[1, 0, 2, 0, 2, 0, 0, 0, b'S', 0, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    exif.extend_from_slice(GPS_MARKER);
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
    enc.set_exif_metadata(exif).expect("EXIF");
    enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

/// The bytes [`phone_photo`] puts after its GPS entry.
pub const GPS_MARKER: &[u8] = b"GPS-7.7956S-110.3695E";

/// Whether `haystack` holds `needle` anywhere.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Loads a sign-in page (`{base}/masuk`, the dashboard's or the console's) as a browser
/// would: the cookie it sets (`name=value`) and the form token in its page.
pub async fn sign_in_form(http: &reqwest::Client, base: &str) -> reqwest::Result<(String, String)> {
    let page = http.get(format!("{base}/masuk")).send().await?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    let html = page.text().await?;
    let form_token = html
        .split("name=\"masuk\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    Ok((cookie, form_token))
}

/// Posts the dashboard's sign-in form as a browser would: loads `/masuk` (its form token, in
/// the page and in a cookie), then posts the token with both. The answer as it came.
pub async fn post_sign_in(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> reqwest::Result<reqwest::Response> {
    let (cookie, form_token) = sign_in_form(http, base).await?;
    http.post(format!("{base}/masuk"))
        .header("cookie", cookie)
        .form(&[("token", token), ("masuk", form_token.as_str())])
        .send()
        .await
}

/// A JPEG of noise (it compresses badly): `w` x `h` px, different bytes for each `seed`.
pub fn noise_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}
