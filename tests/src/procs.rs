//! The real binaries as separate processes: a hub and agents, each in its own directory,
//! killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn binary(name: &str) -> PathBuf {
    let path = crate::bin(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// A free loopback port (bound, then released), for a hub that starts later.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

pub struct HubProcess {
    pub addr: SocketAddr,
    pub db: PathBuf,
    child: Option<Child>,
}

impl HubProcess {
    pub fn hub_cmd(db: &Path) -> Command {
        let mut c = Command::new(binary("karya-hub"));
        c.arg("--db").arg(db);
        c
    }

    /// Makes a new, empty hub database at `db` if there is none, as `karya-hub serve
    /// --create` does first (the admin commands refuse a missing database).
    pub fn create_db(db: &Path) {
        // A PostgreSQL database is opened as `serve --create` opens it (which changes
        // nothing in one that holds a hub already).
        if db.exists() {
            return;
        }
        let config = karya_hub::Config {
            db: db.to_path_buf(),
            ..Default::default()
        };
        karya_hub::db::HubDb::open(&config, karya_hub::db::Create::IfMissing)
            .expect("a new hub database");
    }

    /// Runs an admin command against the hub's database (made first if missing, see
    /// [`HubProcess::create_db`]); returns stdout, panics on failure.
    pub fn admin(db: &Path, args: &[&str]) -> String {
        Self::create_db(db);
        let out = Self::hub_cmd(db).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "karya-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Registers a UPT with the admin CLI (named "UPT CODE"); returns its agent token.
    pub fn add_upt(db: &Path, code: &str, kind: &str, kanwil: &str) -> String {
        let name = format!("UPT {code}");
        Self::admin(
            db,
            &[
                "upt", "add", code, "--name", &name, "--type", kind, "--kanwil", kanwil,
            ],
        )
        .trim()
        .to_string()
    }

    /// Issues a curator, admin or viewer token with the admin CLI; returns it.
    pub fn issue(db: &Path, role: &str, name: &str) -> String {
        Self::admin(db, &["token", "issue", "--role", role, "--name", name])
            .trim()
            .to_string()
    }

    /// Starts `karya-hub serve` and waits until /healthz answers.
    pub fn start(db: &Path, addr: SocketAddr) -> HubProcess {
        Self::start_with_env(db, addr, &[])
    }

    /// Starts `karya-hub serve` with settings in its environment (`KARYA_BLOBS_DIR` for a
    /// hub on PostgreSQL).
    pub fn start_with_env(db: &Path, addr: SocketAddr, env: &[(&str, &str)]) -> HubProcess {
        Self::spawn_serving(db, addr, env, false)
    }

    fn spawn_serving(
        db: &Path,
        addr: SocketAddr,
        env: &[(&str, &str)],
        create: bool,
    ) -> HubProcess {
        let child = Self::hub_cmd(db)
            .args(["serve", "--listen", &addr.to_string()])
            .args(create.then_some("--create"))
            .envs(env.iter().copied())
            .env("KARYA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(test_stderr())
            .spawn()
            .unwrap();
        let hub = HubProcess {
            addr,
            db: db.to_path_buf(),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "hub did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        hub
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the power cut, the OOM killer; nothing of the hub runs after it.
    pub fn kill_hard(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts `karya-hub serve --create` (a new hub: the only command that makes a database)
    /// with settings in its environment, and waits until it answers.
    pub fn start_new(db: &Path, addr: SocketAddr, env: &[(&str, &str)]) -> HubProcess {
        Self::spawn_serving(db, addr, env, true)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM: the graceful path an operator's systemd takes.
            signal(&c, libc::SIGTERM);
            let _ = c.wait();
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends a signal through the `kill` command (the workspace has no unsafe code).
fn signal(child: &Child, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
}

/// Where the hub's and agents' logs go in tests: nowhere, unless KARYA_TEST_STDERR is set
/// (to read them while debugging a test).
fn test_stderr() -> Stdio {
    if std::env::var_os("KARYA_TEST_STDERR").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// A small file system of its own (tmpfs), unmounted on drop: for full-disk and read-only
/// tests. `None` (with a note) where tmpfs cannot be mounted; in CI (which runs as root)
/// that fails the test instead.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    pub fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root and must be able to mount a tmpfs for the disk tests"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }

    /// Remounts it read-only (`false`) or read-write (`true`).
    pub fn set_writable(&self, writable: bool) {
        let opts = if writable { "remount,rw" } else { "remount,ro" };
        let ok = Command::new("mount")
            .args(["-o", opts])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount -o {opts} {}", self.0.display());
    }

    /// Fills it up with a file `name` until the disk says it is full.
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.0.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if f.write_all(&block).is_err() {
                break;
            }
        }
        // What a 64 KB block did not fit, byte by byte.
        while f.write_all(&[0]).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Timings that make a test's agent quick: sync every second, retry from 200 ms up to 1 s.
pub fn fast_env(c: &mut Command) -> &mut Command {
    c.env("KARYA_SYNC_INTERVAL_SECS", "1")
        .env("KARYA_DEBOUNCE_SECS", "0.2")
        .env("KARYA_RETRY_INITIAL_SECS", "0.2")
        .env("KARYA_RETRY_MAX_SECS", "1")
        .env("KARYA_REQUEST_TIMEOUT_SECS", "5")
        .env("KARYA_INBOX_SETTLE_SECS", "0.3")
        // Tests run many agents at once: each console on a port of its own.
        .env("KARYA_CONSOLE_LISTEN", "127.0.0.1:0")
}

pub struct AgentDir {
    pub dir: PathBuf,
    service: Option<Child>,
}

impl AgentDir {
    /// A data directory not initialised yet.
    pub fn new(dir: &Path) -> AgentDir {
        AgentDir {
            dir: dir.to_path_buf(),
            service: None,
        }
    }

    pub fn init(dir: &Path, upt: &str, hub_url: &str, token: &str) -> AgentDir {
        let a = AgentDir {
            dir: dir.to_path_buf(),
            service: None,
        };
        a.ok(&[
            "init",
            "--upt",
            upt,
            "--hub",
            hub_url,
            "--token",
            token.trim(),
        ]);
        a
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(binary("karya-agent"));
        c.arg("--data-dir").arg(&self.dir);
        fast_env(&mut c);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "karya-agent {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&self.ok(&full)).unwrap()
    }

    /// Adds a product with the CLI (category kerajinan); returns its id.
    pub fn add_product(&self, name: &str, price: &str) -> String {
        self.ok(&[
            "product",
            "add",
            "--name",
            name,
            "--category",
            "kerajinan",
            "--price",
            price,
        ])
        .trim()
        .to_string()
    }

    pub fn status(&self) -> serde_json::Value {
        self.json(&["status"])
    }

    /// Adds console account `name` with `password`, typed as `user add` asks for it.
    pub fn add_user(&self, name: &str, password: &str) {
        let mut add = self
            .cmd()
            .args(["user", "add", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            add.stdin.as_mut().unwrap(),
            format!("{password}\n").as_bytes(),
        )
        .unwrap();
        assert!(add.wait_with_output().unwrap().status.success());
    }

    /// The running service's console, `http://ADDR`, once the service has said where.
    pub fn console_url(&self) -> String {
        let file = self.dir.join("console.json");
        crate::browser::wait_until("the console", || file.exists());
        let addr: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        format!("http://{}", addr["addr"].as_str().unwrap())
    }

    pub fn start_service(&mut self) {
        self.start_service_with(test_stderr());
    }

    /// As [`AgentDir::start_service`], its log (warnings and errors) going to `log`.
    pub fn start_service_logging_to(&mut self, log: &Path) {
        let file = std::fs::File::create(log).unwrap();
        self.start_service_with(Stdio::from(file));
    }

    /// As [`AgentDir::start_service`], with these environment variables set for the service.
    pub fn start_service_with_env(&mut self, env: &[(&str, &str)]) {
        self.start_service_env(test_stderr(), env);
    }

    fn start_service_with(&mut self, stderr: Stdio) {
        self.start_service_env(stderr, &[]);
    }

    fn start_service_env(&mut self, stderr: Stdio, env: &[(&str, &str)]) {
        assert!(self.service.is_none());
        let child = self
            .cmd()
            .envs(env.iter().copied())
            .arg("run")
            .env("KARYA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        self.service = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.dir.join("control.json").exists() {
            assert!(Instant::now() < deadline, "agent service did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id of the running service.
    pub fn service_pid(&self) -> Option<u32> {
        self.service.as_ref().map(Child::id)
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill_service(&mut self) {
        if let Some(mut c) = self.service.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited with success.
    pub fn stop_service(&mut self) -> bool {
        let Some(mut c) = self.service.take() else {
            return true;
        };
        signal(&c, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `status` until `pred` holds; returns the last status.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last status: {s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for AgentDir {
    fn drop(&mut self) {
        self.kill_service();
    }
}

/// GET with a bearer token; the status code, or why the request failed.
pub fn get_status(url: &str, token: &str) -> Result<u16, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token.trim())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
}

/// GET with a bearer token; the body as text.
pub fn get_text(url: &str, token: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}

/// GET with a bearer token, as JSON.
/// Posts a curation decision (with a note) with a blocking client; it must be taken.
pub fn decide(hub_url: &str, token: &str, product: &str, status: &str, note: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{hub_url}/api/v1/curation/{product}"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "status": status, "note": note }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(code, 200);
}

/// GET with a bearer token; the body's bytes (the status must be 200).
pub fn get_bytes(url: &str, token: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {url}");
        r.bytes().await.unwrap().to_vec()
    })
}

pub fn get_json(url: &str, token: &str) -> serde_json::Value {
    serde_json::from_str(&get_text(url, token)).unwrap()
}

/// One string field of every item of a JSON array, or of a page's `items` (names of
/// products, ids, ...).
pub fn field_of_each(list: &serde_json::Value, field: &str) -> Vec<String> {
    list.get("items")
        .unwrap_or(list)
        .as_array()
        .expect("a JSON array or a page of items")
        .iter()
        .map(|item| item[field].as_str().expect("a string field").to_string())
        .collect()
}
