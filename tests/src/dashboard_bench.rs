//! karya-sim's dashboard scenario: every page and export of the curators' dashboard on the
//! national-scale hub the bootstrap filled, each fetched many times in a row by one client on
//! loopback (its time is the hub's time to answer plus a loopback round trip, so an upper
//! bound of the server time), and the whole catalogue exported as XLSX and CSV with the hub's
//! memory read before and after.

use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Default, Serialize)]
pub struct PageTiming {
    pub page: String,
    /// The first request (the figures computed, the pages read from disk into the caches;
    /// after a change: the fastest).
    pub first_ms: f64,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// The body's size.
    pub bytes: usize,
}

/// One whole-catalogue export.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportRun {
    pub format: String,
    /// Each run's time, in seconds.
    pub secs: Vec<f64>,
    pub bytes: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DashboardRun {
    pub pages: Vec<PageTiming>,
    pub exports: Vec<ExportRun>,
    /// The hub's resident memory (VmRSS) before and after the whole-catalogue exports, and
    /// its peak (VmHWM) before and after them.
    pub hub_rss_before_mib: f64,
    pub hub_rss_after_mib: f64,
    pub hub_peak_before_mib: f64,
    pub hub_peak_after_mib: f64,
}

/// What the scenario looks at: a UPT, one of its products, a Kanwil and a category that
/// exist at the hub.
#[derive(Debug, Clone)]
pub struct Targets {
    pub upt: String,
    pub product: String,
    pub kanwil: String,
    pub category: String,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn fetch(http: &reqwest::Client, url: &str, viewer: &str) -> (f64, String) {
    let t = Instant::now();
    let r = http
        .get(url)
        .bearer_auth(viewer)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status();
    let body = r.bytes().await.expect("body");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(status.is_success(), "{url}: {status}");
    (ms, String::from_utf8_lossy(&body).into_owned())
}

/// Each Kanwil verifies every other one of its UPTs' nominated products (of `products`,
/// those the hub has as nominated), written as the hub writes a verification, one change
/// per product, in the UPT's curation document: HQ's queue then holds what a national programme
/// has waiting. Returns how many were verified.
pub fn verify_share(db: &std::path::Path, upts: &[(String, Vec<String>)]) -> usize {
    use karya_shared::model::{Verification, VerificationStatus};
    let hub = karya_hub::db::HubDb::open(
        &karya_hub::Config {
            db: db.to_path_buf(),
            ..Default::default()
        },
        karya_hub::db::Create::No,
    )
    .expect("hub db");
    let origin = karya_shared::store::Origin {
        peer: "curator",
        token: "karya-sim-kanwil",
    };
    let mut n = 0;
    for (upt, products) in upts {
        let mut picked = Vec::new();
        for id in products {
            let Some(p) = hub
                .products_by_id(id, Some(upt))
                .expect("product")
                .into_iter()
                .next()
            else {
                continue;
            };
            if p.nominated {
                picked.push(p);
            }
        }
        let verdicts: Vec<Verification> = picked
            .iter()
            .step_by(2)
            .map(|p| {
                Verification::of(
                    p,
                    VerificationStatus::Verified,
                    String::new(),
                    "Verifikator simulasi".into(),
                )
            })
            .collect();
        hub.replica()
            .change_as(&karya_shared::DocId::Curation(upt.clone()), origin, |d| {
                verdicts
                    .iter()
                    .try_for_each(|v| karya_shared::schema::put_verification(d, v))
            })
            .expect("verifications");
        n += verdicts.len();
    }
    n
}

/// The "next page" link of a catalogue page, as a path.
fn next_page(html: &str) -> Option<String> {
    let at = html.find("id=\"berikutnya\" href=\"")? + "id=\"berikutnya\" href=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].replace("&amp;", "&"))
}

pub async fn run(
    base: &str,
    viewer: &str,
    curator: Option<&str>,
    hub_pid: u32,
    samples: usize,
    t: &Targets,
) -> DashboardRun {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .expect("client");
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let filtered = format!("kanwil={}&kategori={}", enc(&t.kanwil), enc(&t.category));
    // The third page of the whole catalogue, reached the way a curator does.
    let mut third = "/katalog".to_string();
    for _ in 0..2 {
        let (_, html) = fetch(&http, &format!("{base}{third}"), viewer).await;
        third = next_page(&html).expect("a next page");
    }
    let pages: Vec<(&str, String)> = vec![
        ("Ringkasan", "/".into()),
        ("UPT (daftar)", "/upt".into()),
        ("UPT (satu)", format!("/upt/{}", t.upt)),
        ("Katalog (semua)", "/katalog".into()),
        ("Katalog (halaman 3)", third),
        (
            "Katalog (Kanwil + kategori)",
            format!("/katalog?{filtered}"),
        ),
        (
            "Katalog (cari kata)",
            format!("/katalog?q={}", enc(&format!("{} 7", t.upt))),
        ),
        ("Katalog (belum dikurasi)", "/katalog?kurasi=none".into()),
        ("Antrean pusat", "/antrean".into()),
        (
            "Antrean pusat (harga)",
            "/antrean?antrean=pusat&urut=harga".into(),
        ),
        (
            "Antrean Kanwil (nasional)",
            "/antrean?antrean=kanwil".into(),
        ),
        ("Rekap", "/rekap".into()),
        ("Produk", format!("/produk/{}/{}", t.upt, t.product)),
        ("Pelatihan", "/pelatihan".into()),
        (
            "Ekspor CSV (Kanwil + kategori)",
            format!("/katalog/ekspor?{filtered}&format=csv"),
        ),
        (
            "Ekspor XLSX (Kanwil + kategori)",
            format!("/katalog/ekspor?{filtered}&format=xlsx"),
        ),
    ];
    let mut run = DashboardRun::default();
    for (name, path) in pages {
        let url = format!("{base}{path}");
        // One warm-up (the first read of a page loads what it needs into the caches).
        let (first_ms, body) = fetch(&http, &url, viewer).await;
        let mut lat = Vec::with_capacity(samples);
        for _ in 0..samples {
            lat.push(fetch(&http, &url, viewer).await.0);
        }
        lat.sort_by(f64::total_cmp);
        run.pages.push(PageTiming {
            page: name.to_string(),
            first_ms,
            samples,
            p50_ms: percentile(&lat, 50.0),
            p95_ms: percentile(&lat, 95.0),
            max_ms: lat.last().copied().unwrap_or(0.0),
            bytes: body.len(),
        });
    }
    // After a change: a curator's decision lands (one UPT's document changes, as when one
    // UPT's sync does), then the pages with national figures are read again.
    if let Some(curator) = curator {
        let mut after: [Vec<f64>; 2] = Default::default();
        for i in 0..samples {
            let status = if i % 2 == 0 { "approved" } else { "featured" };
            let r = http
                .post(format!("{base}/api/v1/curation/{}", t.product))
                .bearer_auth(curator)
                .json(&serde_json::json!({ "status": status, "note": format!("sim {i}") }))
                .send()
                .await
                .expect("decision");
            assert!(r.status().is_success(), "decision: {}", r.status());
            for (k, path) in ["/", "/pelatihan"].iter().enumerate() {
                after[k].push(fetch(&http, &format!("{base}{path}"), viewer).await.0);
            }
        }
        for (name, mut lat) in ["Ringkasan (after a change)", "Pelatihan (after a change)"]
            .into_iter()
            .zip(after)
        {
            lat.sort_by(f64::total_cmp);
            run.pages.push(PageTiming {
                page: name.to_string(),
                first_ms: lat.first().copied().unwrap_or(0.0),
                samples,
                p50_ms: percentile(&lat, 50.0),
                p95_ms: percentile(&lat, 95.0),
                max_ms: lat.last().copied().unwrap_or(0.0),
                bytes: 0,
            });
        }
    }
    run.hub_rss_before_mib = mib(crate::sim::proc_status_kib(hub_pid, "VmRSS"));
    run.hub_peak_before_mib = mib(crate::sim::proc_status_kib(hub_pid, "VmHWM"));
    for format in ["xlsx", "csv"] {
        let url = format!("{base}/katalog/ekspor?format={format}");
        let mut e = ExportRun {
            format: format.into(),
            ..Default::default()
        };
        for _ in 0..3 {
            let t = Instant::now();
            let r = http.get(&url).bearer_auth(viewer).send().await.expect(&url);
            assert!(r.status().is_success(), "{url}: {}", r.status());
            e.bytes = r.bytes().await.expect("export").len();
            e.secs.push(t.elapsed().as_secs_f64());
        }
        run.exports.push(e);
    }
    run.hub_rss_after_mib = mib(crate::sim::proc_status_kib(hub_pid, "VmRSS"));
    run.hub_peak_after_mib = mib(crate::sim::proc_status_kib(hub_pid, "VmHWM"));
    run
}

pub fn print(run: &DashboardRun) {
    println!(
        "dashboard (one client on loopback; the first request, then p50 / p95 / max of the samples):"
    );
    for p in &run.pages {
        println!(
            "  {:<34} first {:>7.1}; {:>7.1} / {:>7.1} / {:>7.1} ms  ({} samples, {} KB)",
            p.page,
            p.first_ms,
            p.p50_ms,
            p.p95_ms,
            p.max_ms,
            p.samples,
            p.bytes / 1000
        );
    }
    for e in &run.exports {
        let secs: Vec<String> = e.secs.iter().map(|s| format!("{s:.2}")).collect();
        println!(
            "  whole catalogue as {}: {} s ({:.1} MB)",
            e.format,
            secs.join(", "),
            e.bytes as f64 / 1e6
        );
    }
    println!(
        "  hub RSS before / after the exports: {:.0} / {:.0} MiB; peak {:.0} / {:.0} MiB",
        run.hub_rss_before_mib,
        run.hub_rss_after_mib,
        run.hub_peak_before_mib,
        run.hub_peak_after_mib
    );
}

/// The dashboard scenario alone, on a national hub database an earlier run kept: the hub is
/// started on it in its own process, a viewer token issued, the targets read from it.
pub async fn on_kept_hub(
    exe: &std::path::Path,
    db: &std::path::Path,
    samples: usize,
) -> anyhow::Result<DashboardRun> {
    anyhow::ensure!(db.exists(), "{} does not exist", db.display());
    let admin = karya_hub::db::HubDb::open(
        &karya_hub::Config {
            db: db.to_path_buf(),
            ..Default::default()
        },
        karya_hub::db::Create::No,
    )?;
    let (_, viewer) = admin.issue_token(&karya_hub::auth::Role::Viewer, "karya-sim dashboard")?;
    let (_, curator) = admin.issue_token(&karya_hub::auth::Role::Curator, "karya-sim kurator")?;
    drop(admin);
    let hub = crate::sim::HubChild::start(exe, db);
    let base = format!("http://{}", hub.addr);
    let upt = "SIM-0003".to_string();
    let (_, list) = crate::memagent::get_json(
        &format!("{base}/api/v1/products?upt={upt}&limit=8"),
        &viewer,
    )
    .await;
    let product = list["items"][7]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no products of {upt} at this hub: {list}"))?
        .to_string();
    let targets = Targets {
        upt,
        product,
        kanwil: "Kanwil 3".into(),
        category: karya_shared::model::product_category_slugs()[0].to_string(),
    };
    let run = run(&base, &viewer, Some(&curator), hub.pid, samples, &targets).await;
    hub.stop();
    Ok(run)
}
