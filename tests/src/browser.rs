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
    loop {
        if let Ok(el) = c.find(Locator::Css("body")).await
            && let Ok(t) = el.text().await
            && t.contains(what)
        {
            return t;
        }
        assert!(Instant::now() < deadline, "the page never said {what:?}");
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
        let el = c.find(Locator::Css(css)).await.unwrap();
        match el.text().await {
            Ok(t) => return t,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && Instant::now() < deadline =>
            {
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
