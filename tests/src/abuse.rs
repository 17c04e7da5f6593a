//! Hostile load from one agent token: sync bodies and photo parts trickled a byte at a time,
//! while every other UPT syncs and a prober reads `/healthz`. Used by the fairness test and
//! by karya-sim's abuse scenario, which reports the other UPTs' syncs beside a quiet round.

use crate::sim::Replica;
use karya_agent::client::{HubClient, sync_once};
use karya_shared::schema::{self, DocId};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Sends a request's head, then its body a byte every `every`, until the hub answers (or
/// `give_up` passes); returns the answer's status line and when it came.
pub async fn trickle(
    addr: SocketAddr,
    head: String,
    every: Duration,
    give_up: Duration,
) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return ("(no connection)".into(), started.elapsed());
    };
    if s.write_all(head.as_bytes()).await.is_err() {
        return ("(refused)".into(), started.elapsed());
    }
    let mut buf = vec![0u8; 4096];
    while started.elapsed() < give_up {
        let _ = s.write_all(b"x").await;
        if let Ok(Ok(n)) = tokio::time::timeout(every, s.read(&mut buf)).await {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let line = text.lines().next().unwrap_or("").to_string();
            return (line, started.elapsed());
        }
    }
    ("(no answer)".into(), started.elapsed())
}

/// The head of a sync request whose body (`length` bytes) is still to come.
pub fn sync_head(token: &str, length: usize) -> String {
    format!(
        "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {}\r\nContent-Length: {length}\r\n\r\n",
        karya_shared::wire::CONTENT_TYPE
    )
}

/// The head of a photo part from byte 0 whose body (`length` bytes) is still to come.
pub fn upload_head(token: &str, hash: &str, length: usize) -> String {
    format!(
        "PATCH /api/v1/uploads/{hash} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// One round of the other UPTs' syncs: success share and latencies.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Round {
    pub syncs: usize,
    pub ok: usize,
    pub success_pct: f64,
    pub sync_p50_ms: f64,
    pub sync_p99_ms: f64,
    pub healthz_p99_ms: f64,
}

/// The abuse scenario: a quiet round, then the same round under one token's trickles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AbuseRun {
    pub quiet: Round,
    pub abused: Round,
    /// The attacker's requests and how they ended: refused at once (503/429), cut as too
    /// slow (408), other.
    pub attacks: usize,
    pub refused_at_once: usize,
    pub cut_slow: usize,
    pub other: Vec<String>,
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// Each victim edits a product and syncs once (`concurrency` at a time), while `/healthz` is
/// read every 50 ms.
async fn round(url: &str, victims: &mut [Replica], concurrency: usize, tag: i64) -> Round {
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (url, stop) = (format!("{url}/healthz"), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client");
            let mut lat = Vec::new();
            while !stop.load(Relaxed) {
                let t = Instant::now();
                if http
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    lat.push(f64::INFINITY);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            lat
        })
    };
    let now = karya_shared::model::now_rfc3339();
    for r in victims.iter_mut() {
        let doc = DocId::Upt(r.upt.clone());
        let id = r.products[0].clone();
        let patch = karya_shared::model::ProductPatch {
            price_idr: Some(30_000 + tag),
            ..Default::default()
        };
        r.store
            .change(&doc, |d| schema::edit_product(d, &id, &patch, &now))
            .expect("edit");
    }
    let chunk = victims.len().div_ceil(concurrency.max(1)).max(1);
    let groups = victims.chunks_mut(chunk).map(|group| {
        let url = url.to_string();
        async move {
            let mut out = Vec::new();
            for r in group.iter_mut() {
                let client = HubClient::new(&url, &r.token, Duration::from_secs(60));
                let t = Instant::now();
                let ok = sync_once(&r.store, &client, &r.peer, DocId::for_agent(&r.upt))
                    .await
                    .is_ok();
                out.push((ok, t.elapsed().as_secs_f64() * 1000.0));
            }
            out
        }
    });
    let results: Vec<(bool, f64)> = futures_util::future::join_all(groups)
        .await
        .into_iter()
        .flatten()
        .collect();
    stop.store(true, Relaxed);
    let mut healthz = probe.await.expect("prober");
    healthz.sort_by(f64::total_cmp);
    let mut lat: Vec<f64> = results.iter().map(|(_, ms)| *ms).collect();
    lat.sort_by(f64::total_cmp);
    let ok = results.iter().filter(|(ok, _)| *ok).count();
    Round {
        syncs: results.len(),
        ok,
        success_pct: 100.0 * ok as f64 / results.len().max(1) as f64,
        sync_p50_ms: quantile(&lat, 0.50),
        sync_p99_ms: quantile(&lat, 0.99),
        healthz_p99_ms: quantile(&healthz, 0.99),
    }
}

/// The scenario: `victims` sync once quietly, then again while `attacker`'s token trickles
/// 8 sync bodies and a part of each photo its products name (a byte every 2 s).
pub async fn run(
    addr: SocketAddr,
    attacker: &Replica,
    victims: &mut [Replica],
    concurrency: usize,
) -> AbuseRun {
    let url = format!("http://{addr}");
    let quiet = round(&url, victims, concurrency, 1).await;
    // The photos the attacker's products name (the generator gives one product in ten a
    // photo named from its id).
    let hashes: Vec<String> = attacker
        .products
        .iter()
        .step_by(10)
        .take(12)
        .flat_map(|id| {
            let h = karya_agent::photos::hash_of(id.as_bytes());
            let t = karya_agent::photos::hash_of(h.as_bytes());
            [h, t]
        })
        .collect();
    let every = Duration::from_secs(2);
    let give_up = Duration::from_secs(60);
    let mut attacks = Vec::new();
    for _ in 0..8 {
        attacks.push(tokio::spawn(trickle(
            addr,
            sync_head(&attacker.token, 100_000),
            every,
            give_up,
        )));
    }
    for h in &hashes {
        attacks.push(tokio::spawn(trickle(
            addr,
            upload_head(&attacker.token, h, 100_000),
            every,
            give_up,
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let abused = round(&url, victims, concurrency, 2).await;
    let mut run = AbuseRun {
        quiet,
        abused,
        attacks: attacks.len(),
        ..Default::default()
    };
    for a in attacks {
        let (line, _) = a.await.expect("attack");
        if line.contains(" 503 ") || line.contains(" 429 ") {
            run.refused_at_once += 1;
        } else if line.contains(" 408 ") {
            run.cut_slow += 1;
        } else {
            run.other.push(line);
        }
    }
    run
}
