//! Test harness for karya's end-to-end tests and the simulation: a hub running in-process on
//! a port-0 listener, paths to the real binaries, and the link proxy.

pub mod procs;
pub mod proxy;
pub mod sim;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A hub served in-process from a temporary directory; stopped (gracefully) on drop.
pub struct TestHub {
    pub addr: SocketAddr,
    pub db: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestHub {
    pub async fn start() -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("hub.db");
        let mut hub = Self::start_on(&db).await;
        hub._dir = Some(dir);
        hub
    }

    /// A hub on an existing database file (to restart one).
    pub async fn start_on(db: &Path) -> TestHub {
        let config = karya_hub::Config {
            db: db.to_path_buf(),
            ..karya_hub::Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            karya_hub::serve(config, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("hub serves");
        });
        TestHub {
            addr,
            db: db.to_path_buf(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens the hub's database the way the admin CLI does.
    pub fn admin_store(&self) -> karya_shared::Store {
        karya_hub::open_store(&karya_hub::Config {
            db: self.db.clone(),
            ..Default::default()
        })
        .expect("open hub db")
    }

    /// Registers a UPT and returns its agent token.
    pub fn add_upt(&self, code: &str, kind: &str, kanwil: &str) -> String {
        let mut store = self.admin_store();
        let upt = karya_shared::model::UptInfo {
            code: code.into(),
            name: format!("UPT {code}"),
            kind: kind.into(),
            kanwil: kanwil.into(),
        };
        karya_hub::national::register_upt(&mut store, &upt).expect("register");
        let (_, token) = karya_hub::auth::issue(
            store.conn(),
            &karya_hub::auth::Role::Agent { upt: code.into() },
            code,
        )
        .expect("token");
        token
    }

    pub fn issue(&self, role: karya_hub::auth::Role, name: &str) -> (String, String) {
        karya_hub::auth::issue(self.admin_store().conn(), &role, name).expect("token")
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
