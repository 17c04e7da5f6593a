//! An agent replica in memory that syncs through the agent's own client, and small HTTP
//! helpers: for the hub's integration tests.

use karya_agent::client::{HubClient, sync_once};
use karya_shared::Store;
use karya_shared::model::{Product, new_id, now_rfc3339};
use karya_shared::schema::{self, DocId};
use std::time::Duration;

pub fn product(name: &str) -> Product {
    let now = now_rfc3339();
    Product {
        id: new_id().into(),
        name: name.into(),
        category: "kerajinan".into(),
        description: "Anyaman bambu".into(),
        price_idr: 75_000,
        unit: "pcs".into(),
        stock: 10,
        workshop: "Bengkel anyaman".into(),
        nominated: true,
        created_at: now.clone(),
        updated_at: now,
        ..Default::default()
    }
}

pub struct Agent {
    pub upt: String,
    pub store: Store,
    pub client: HubClient,
    pub peer: String,
}

impl Agent {
    pub fn new(upt: &str, url: &str, token: &str) -> Agent {
        Agent {
            upt: upt.into(),
            store: Store::open_in_memory(Some(karya_agent::identity::SCHEMA)).unwrap(),
            client: HubClient::new(url, token, Duration::from_secs(10)),
            peer: new_id(),
        }
    }
    pub fn docs(&self) -> Vec<DocId> {
        DocId::for_agent(&self.upt)
    }
    pub async fn sync(&mut self) -> karya_shared::session::Outcome {
        let docs = self.docs();
        let outcome = sync_once(&self.store, &self.client, &self.peer, docs)
            .await
            .expect("sync succeeds");
        // As the agent's sync does before its photo round.
        karya_agent::uploads::hub_lacks(&self.store, &outcome.photo_gaps).expect("photo gaps");
        outcome
    }
    pub fn add_product(&mut self, name: &str) -> String {
        let p = product(name);
        self.store
            .change(&DocId::Upt(self.upt.clone()), |d| {
                schema::insert_product(d, &p)
            })
            .unwrap();
        p.id.to_string()
    }
}

pub async fn get_json(url: &str, token: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// GET with a bearer token; the body as text.
pub async fn get_body(url: &str, token: &str) -> String {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `GET /metrics`, parsed with a Prometheus text-format parser (a scrape that does not parse
/// fails the test).
pub async fn scrape(base: &str) -> prometheus_parse::Scrape {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"))
}

/// The sum of every sample of `name` whose labels include `labels` (name, value pairs).
pub fn sample_sum(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}
