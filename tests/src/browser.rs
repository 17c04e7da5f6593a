//! A real headless Chromium for the tests of the web pages (the agent's console, the hub's
//! dashboard): Debian's chromium and chromium-driver, driven over WebDriver (fantoccini).

use crate::procs::free_addr;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver on a free port, stopped with the test.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver is not installed: the browser tests need Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run installs them)"
                )
            });
        let addr = free_addr();
        let child = Command::new(exe)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://{addr}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,900", "--lang=id",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    // A page that does not load fails the test in seconds, not in WebDriver's five minutes.
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(20)),
        Some(Duration::from_secs(30)),
        Some(Duration::ZERO),
    ))
    .await
    .unwrap();
    c
}

/// Waits until the page says `what` (a form's answer arrives after its redirect).
pub async fn wait_for(c: &Client, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    loop {
        if let Ok(el) = c.find(Locator::Css("body")).await
            && let Ok(t) = el.text().await
        {
            if t.contains(what) {
                return t;
            }
            last = t;
        }
        assert!(
            Instant::now() < deadline,
            "the page never said {what:?}; it says:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where a test's screenshots go: target/screenshots/<set>/, for a person to look at.
pub fn shots(set: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/screenshots")
        .join(set);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shot(c: &Client, set: &str, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots(set).join(format!("{name}.png")), png).unwrap();
}

/// The text of the element `css` finds. An element found while the page was still being
/// replaced (a redirect's target loading on a busy machine) goes stale before its text is
/// read: it is found again, for up to 5 seconds.
pub async fn text(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let el = match c.find(Locator::Css(css)).await {
            Ok(el) => el,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => panic!("no {css} on the page: {e}"),
        };
        match el.text().await {
            Ok(t) => return t,
            // Stale, or (Chromium's own words for it) "Node with given id does not belong
            // to the document".
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the text of {css}: {e}"),
        }
    }
}

pub async fn body(c: &Client) -> String {
    text(c, "body").await
}

pub async fn fill(c: &Client, form_css: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let el = c
            .find(Locator::Css(&format!("{form_css} [name=\"{name}\"]")))
            .await
            .unwrap();
        if el.tag_name().await.unwrap() == "select" {
            el.select_by_value(value).await.unwrap();
        } else {
            el.clear().await.unwrap();
            el.send_keys(value).await.unwrap();
        }
    }
}

pub async fn submit(c: &Client, form_css: &str) {
    eprintln!("submit {form_css}");
    c.find(Locator::Css(&format!("{form_css} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// axe-core, vendored (tests/vendor/axe-core/README.md): injected into the page under test.
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// The accessibility violations axe-core finds on the page `c` shows, at the impacts given
/// (`critical`, `serious`, …): one line each, naming the rule and the first elements.
pub async fn axe(c: &Client, impacts: &[&str]) -> Vec<String> {
    c.execute(AXE, vec![]).await.expect("axe-core loads");
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))))
              .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .expect("a list of violations")
        .iter()
        .filter(|v| impacts.contains(&v["impact"].as_str().unwrap_or("")))
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

/// Whether the page is wider than the window (a phone user would scroll sideways), and the
/// widest elements when it is.
pub async fn sideways(c: &Client) -> Option<String> {
    let v = c
        .execute(
            r#"const root = document.documentElement;
            if (root.scrollWidth <= root.clientWidth + 1) return null;
            const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
            const wide = [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !clipped(e))
              .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') +
                 ' ' + Math.round(e.getBoundingClientRect().right) + 'px');
            return root.scrollWidth + 'px wide in ' + root.clientWidth + 'px: ' + wide.join(', ');"#,
            vec![],
        )
        .await
        .unwrap();
    v.as_str().map(str::to_string)
}

/// Looks at the page `c` shows as a person would on a desktop (1,400 px) and on a phone
/// (390 px): a screenshot of each in target/screenshots/<set>/<name>-<width>.png, no
/// sideways scrolling at either width, and no axe-core violation at `impacts`.
pub async fn look(c: &Client, set: &str, name: &str, impacts: &[&str]) {
    for width in [1400u32, 390] {
        c.set_window_size(width, 900).await.unwrap();
        // The layout follows the window before anything is measured.
        tokio::time::sleep(Duration::from_millis(150)).await;
        if let Some(wide) = sideways(c).await {
            shot(c, set, &format!("{name}-{width}")).await;
            panic!("{name} at {width} px scrolls sideways: {wide}");
        }
        shot(c, set, &format!("{name}-{width}")).await;
        let found = axe(c, impacts).await;
        assert!(
            found.is_empty(),
            "{name} at {width} px: axe-core finds {impacts:?} violations:\n{}",
            found.join("\n")
        );
    }
    c.set_window_size(1280, 900).await.unwrap();
}

/// A folder served over HTTP as any static web server would (the public catalogue is such a
/// folder): GET only, `index.html` for a folder, nothing outside it. Stops with the test.
pub struct StaticSite {
    pub url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
}

impl StaticSite {
    pub fn serve(dir: &Path) -> StaticSite {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dir, stopped) = (dir.to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let mut line = String::new();
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    // The rest of the request's head.
                    let mut header = String::new();
                    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                        header.clear();
                    }
                    let path = line.split(' ').nth(1).unwrap_or("/");
                    let path = path.split(['?', '#']).next().unwrap_or("/");
                    let mut file = dir.join(path.trim_start_matches('/'));
                    if path.ends_with('/') {
                        file = file.join("index.html");
                    }
                    let body = if path.contains("..") {
                        None
                    } else {
                        std::fs::read(&file).ok()
                    };
                    let head = match &body {
                        Some(b) => {
                            let kind = match file.extension().and_then(|e| e.to_str()) {
                                Some("html") => "text/html; charset=utf-8",
                                Some("css") => "text/css",
                                Some("json") => "application/json",
                                Some("svg") => "image/svg+xml",
                                Some("jpg") => "image/jpeg",
                                Some("xml") => "application/xml",
                                _ => "text/plain; charset=utf-8",
                            };
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                b.len()
                            )
                        }
                        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_string(),
                    };
                    let _ = conn.write_all(head.as_bytes());
                    if let Some(b) = body {
                        let _ = conn.write_all(&b);
                    }
                });
            }
        });
        StaticSite {
            url: format!("http://{addr}"),
            stop,
            addr,
        }
    }
}

impl Drop for StaticSite {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accepting thread so it sees the stop.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}
