//! A real PostgreSQL server for tests and the benchmark: `initdb` into a temporary directory,
//! started with `pg_ctl` on a free loopback port (as the `postgres` system user when the tests
//! run as root, since the server refuses to run as root), stopped and removed on drop, also
//! when the test that started it fails, and by a watchdog when the process that started it is
//! killed from outside (a CI timeout), so no server outlives its test run.
//!
//! Where the server's programs are not found, starting one panics with what to install: a
//! test that needs PostgreSQL never passes without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running PostgreSQL server of its own.
pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    /// The system user the server runs as, when it is not the current one.
    user: Option<&'static str>,
    dir: Option<tempfile::TempDir>,
    /// Whether TCP connections must use TLS and a password ([`PgServer::start_tls`]); the
    /// tests' own client then comes through the server's socket.
    tls: bool,
}

/// How the server keeps its data: tests trade durability against a power loss for speed
/// (they kill processes and restart the server, never the machine); the benchmark keeps
/// PostgreSQL's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Fast,
    Default,
}

/// Where `initdb`, `pg_ctl` and `postgres` are: the PATH, else Debian's and the PGDG
/// packages' folders, newest first.
fn find_bin() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_all(&dir) {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_all(d))
        .collect();
    versions.sort();
    versions.pop()
}

/// Whether the tests run as root (asked of `id`: the workspace has no unsafe code).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgServer {
    /// Starts a new, empty server for a test.
    pub fn start() -> PgServer {
        Self::start_with(Durability::Fast)
    }

    pub fn start_with(durability: Durability) -> PgServer {
        Self::start_inner(durability, None)
    }

    /// A server as a managed PostgreSQL is: TCP only with TLS (`certs`' server certificate)
    /// and `karya`'s password (SCRAM); a connection without TLS is rejected.
    pub fn start_tls(certs: &crate::certs::TestCerts, password: &str) -> PgServer {
        let server = Self::start_inner(Durability::Fast, Some(certs));
        let mut admin = server.client("postgres");
        admin
            .batch_execute(&format!("ALTER ROLE karya PASSWORD '{password}'"))
            .expect("set karya's password");
        server
    }

    fn start_inner(durability: Durability, tls: Option<&crate::certs::TestCerts>) -> PgServer {
        let bin = find_bin().unwrap_or_else(|| {
            panic!(
                "\n\n*** PostgreSQL's server programs (initdb, pg_ctl, postgres) are not on this machine: \
                 the PostgreSQL tests cannot run. Install them (Debian: apt-get install postgresql-15) \
                 or put their folder on the PATH. ***\n"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("karya-pg-")
            .tempdir()
            .expect("temp dir");
        let user = is_root().then_some("postgres");
        if let Some(user) = user {
            let ok = Command::new("chown")
                .args(["-R", &format!("{user}:"), &dir.path().to_string_lossy()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "could not give {} to the `{user}` system user, which the server runs as when the tests run as root",
                dir.path().display()
            );
        }
        let data = dir.path().join("data");
        let mut server = PgServer {
            port: 0,
            bin,
            data,
            user,
            dir: Some(dir),
            tls: tls.is_some(),
        };
        let data = server.data.to_string_lossy().into_owned();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "karya",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        let mut settings = format!(
            "-c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c max_connections=200",
            server.dir().display()
        );
        if let Some(certs) = tls {
            // The server reads its key only when the key is its user's and private.
            for (from, to) in [(&certs.cert, "server.crt"), (&certs.key, "server.key")] {
                let to = server.data.join(to);
                std::fs::copy(from, &to).expect("copy the certificate into the data folder");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                    .expect("make the key private");
            }
            if let Some(user) = user {
                let ok = Command::new("chown")
                    .args([
                        &format!("{user}:"),
                        &*server.data.join("server.crt").to_string_lossy(),
                    ])
                    .arg(server.data.join("server.key"))
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "could not give the certificate to `{user}`");
            }
            std::fs::write(
                server.data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 reject\n",
            )
            .expect("write pg_hba.conf");
            settings.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        if durability == Durability::Fast {
            // What a commit wrote still reaches the kernel before it returns (a killed or
            // restarted server loses nothing); only the machine's own crash is not covered.
            settings.push_str(" -c fsync=off -c full_page_writes=off");
        }
        let log = server
            .dir()
            .join("server.log")
            .to_string_lossy()
            .into_owned();
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            let port = crate::procs::free_addr().port();
            let started = server.try_run(
                "pg_ctl",
                &[
                    "start",
                    "-D",
                    &data,
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    &log,
                    "-o",
                    &format!("-p {port} {settings}"),
                ],
            );
            if started.is_ok() {
                server.port = port;
                server.watch();
                return server;
            }
        }
        let log = std::fs::read_to_string(server.dir().join("server.log")).unwrap_or_default();
        panic!("PostgreSQL did not start; its log:\n{log}");
    }

    /// The process id of the server's postmaster (its backends are its children), from its
    /// `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The server's folder (its data, socket and log): gone once the server is.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("until drop").path()
    }

    /// Starts the watchdog: a shell in a process group of its own (a signal to this process's
    /// group does not reach it) that checks once a second whether this process still runs; when
    /// it is gone without having dropped the server, the watchdog stops the server and removes
    /// its folder. It ends by itself once the folder is gone (the server was dropped).
    fn watch(&self) {
        use std::os::unix::process::CommandExt;
        const SCRIPT: &str = r#"while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
[ -d "$2" ] || exit 0
$3 stop -D "$2" -m immediate -w >/dev/null 2>&1
rm -rf "$4""#;
        let pg_ctl = self.bin.join("pg_ctl").to_string_lossy().into_owned();
        let stop = match self.user {
            Some(user) => format!("runuser -u {user} -- {pg_ctl}"),
            None => pg_ctl,
        };
        let spawned = Command::new("sh")
            .args(["-c", SCRIPT, "karya-pg-watchdog"])
            .arg(std::process::id().to_string())
            .arg(&self.data)
            .arg(stop)
            .arg(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        if let Err(e) = spawned {
            panic!("the PostgreSQL test server's watchdog (sh) could not start: {e}");
        }
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut c = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.args(args).stdin(Stdio::null());
        c
    }

    fn try_run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program, args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        if let Err(e) = self.try_run(program, args) {
            panic!("{e}");
        }
    }

    /// The address of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://karya@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its address.
    pub fn create_database(&self, name: &str) -> String {
        // On a thread of its own: the synchronous client may not run inside an async task.
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut admin = self.client("postgres");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("CREATE DATABASE");
            })
            .join()
            .expect("database created")
        });
        self.url(name)
    }

    /// A plain client on database `db` (to look at what the hub stored), for tests that are
    /// not async (rust-postgres's synchronous client runs a runtime of its own).
    pub fn client(&self, db: &str) -> postgres::Client {
        if self.tls {
            return postgres::Config::new()
                .host_path(self.dir())
                .port(self.port)
                .user("karya")
                .dbname(db)
                .connect(postgres::NoTls)
                .expect("connect to PostgreSQL through its socket");
        }
        postgres::Client::connect(&self.url(db), postgres::NoTls).expect("connect to PostgreSQL")
    }

    /// Stops the server at once (as a crash would); [`PgServer::restart`] starts it again.
    pub fn stop(&self) {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
    }

    /// Stops the server at once (as a crash would) and starts it again on the same port
    /// (also after [`PgServer::stop`]).
    pub fn restart(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.dir().join("server.log").to_string_lossy().into_owned();
        // `restart` starts it with the options it was started with (postmaster.opts).
        self.run(
            "pg_ctl",
            &[
                "restart",
                "-D",
                &data,
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "-l",
                &log,
            ],
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = self.try_run("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
    }
}
