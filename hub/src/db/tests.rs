use super::*;
use crate::access::{Rejection, Role};
use crate::config::Config;

fn db() -> (tempfile::TempDir, HubDb) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: dir.path().join("hub.db"),
        ..Config::default()
    };
    let db = HubDb::open(&config, Create::IfMissing).unwrap();
    (dir, db)
}

/// A hub restored from a backup must not write again under sequence numbers its lost
/// changes used: each start writes under an actor of its own.
#[test]
fn kept_figures_follow_every_change_stored_also_by_another_process() {
    let (dir, db) = db();
    let upt = |code: &str, kanwil: &str| {
        karya_shared::model::UptInfo::new(code, code, karya_shared::model::UptType::Lapas, kanwil)
    };
    db.register_upts(&[upt("LAPAS-A", "Bali")], false).unwrap();
    let kanwils = |db: &HubDb| -> Vec<String> {
        db.stats()
            .unwrap()
            .per_kanwil
            .into_iter()
            .map(|k| k.kanwil)
            .collect()
    };
    assert_eq!(kanwils(&db), ["Bali"]);
    assert_eq!(kanwils(&db), ["Bali"], "read again: kept");
    // Another hub process on the same database registers a UPT.
    let other = HubDb::open(
        &Config {
            db: dir.path().join("hub.db"),
            ..Config::default()
        },
        Create::No,
    )
    .unwrap();
    other
        .register_upts(&[upt("LAPAS-B", "Jawa Timur")], false)
        .unwrap();
    assert_eq!(kanwils(&db), ["Bali", "Jawa Timur"], "computed again");
    let codes: Vec<String> = db
        .upt_rows(24)
        .unwrap()
        .into_iter()
        .map(|u| u.code)
        .collect();
    assert_eq!(codes, ["LAPAS-A", "LAPAS-B"]);

    // Products arrive in one UPT, then another: the kept figures are brought up to date
    // for the UPT that changed, and agree with figures computed from nothing.
    let product = |name: &str, category: &str| {
        let now = karya_shared::model::now_rfc3339();
        karya_shared::model::Product {
            id: karya_shared::model::new_id().into(),
            name: name.into(),
            category: category.into(),
            price_idr: 10_000,
            unit: "pcs".into(),
            stock: 3,
            created_at: now.clone(),
            updated_at: now,
            ..Default::default()
        }
    };
    let add = |code: &str, name: &str, category: &str| {
        let p = product(name, category);
        other
            .replica()
            .change(&karya_shared::DocId::Upt(code.into()), |d| {
                karya_shared::schema::insert_product(d, &p)
            })
            .unwrap();
    };
    let fresh = || {
        HubDb::open(
            &Config {
                db: dir.path().join("hub.db"),
                ..Config::default()
            },
            Create::No,
        )
        .unwrap()
    };
    add("LAPAS-A", "Tikar", "kerajinan");
    assert_eq!(db.stats().unwrap().national.products, 1);
    assert_eq!(
        db.products_per_category(None).unwrap(),
        [("kerajinan".to_string(), 1)]
    );
    add("LAPAS-B", "Keripik", "makanan");
    add("LAPAS-B", "Kursi", "kerajinan");
    let stats = db.stats().unwrap();
    assert_eq!(stats, fresh().stats().unwrap());
    assert_eq!(stats.national.products, 3);
    assert_eq!(
        db.products_per_category(None).unwrap(),
        [("kerajinan".to_string(), 2), ("makanan".to_string(), 1)]
    );
    assert_eq!(
        db.products_per_category(Some("Jawa Timur")).unwrap(),
        [("kerajinan".to_string(), 1), ("makanan".to_string(), 1)]
    );
    let rows = db.upt_rows(24).unwrap();
    assert_eq!((rows[0].products, rows[1].products), (1, 2));
}

#[test]
fn every_start_writes_under_a_new_actor() {
    let (dir, db) = db();
    let upt = |code: &str| {
        karya_shared::model::UptInfo::new(code, code, karya_shared::model::UptType::Lapas, "Bali")
    };
    db.register_upts(&[upt("LAPAS-A")], false).unwrap();
    let first = db.replica().actor().clone();
    drop(db);
    let config = Config {
        db: dir.path().join("hub.db"),
        ..Config::default()
    };
    let db = HubDb::open(&config, Create::No).unwrap();
    assert_ne!(db.replica().actor(), &first);
    db.register_upts(&[upt("LAPAS-B")], false).unwrap();
    let actors: std::collections::HashSet<automerge::ActorId> = db
        .replica()
        .with_doc(&karya_shared::DocId::National, |d| {
            d.get_changes(&[])
                .iter()
                .map(|c| c.actor_id().clone())
                .collect()
        })
        .unwrap();
    assert!(actors.contains(&first) && actors.contains(db.replica().actor()));
}

#[test]
fn issue_verify_revoke() {
    let (_dir, db) = db();
    let (id, token) = db
        .issue_token(&Role::Curator, "Subdit Kegiatan Kerja")
        .unwrap();
    let p = db.verify_token(&token).unwrap().unwrap();
    assert_eq!(p.role, Role::Curator);
    let mut forged = token.clone();
    forged.pop();
    forged.push('x');
    assert_eq!(
        db.verify_token(&forged).unwrap().unwrap_err(),
        Rejection::Mismatch {
            token_id: id.clone(),
            upt: None
        },
        "a wrong secret is told apart from an unknown id (for the count per UPT), not to the caller"
    );
    assert_eq!(
        db.verify_token("nonsense").unwrap().unwrap_err(),
        Rejection::Malformed
    );
    assert!(db.revoke_token(&id).unwrap());
    assert!(matches!(
        db.verify_token(&token).unwrap(),
        Err(Rejection::Revoked { .. })
    ));
    let stored: String = db
        .read(|c| c.query_row("SELECT hash FROM tokens", params![], |r| r.get(0)))
        .unwrap();
    assert!(
        !stored.contains(&token[20..]),
        "the token itself is never stored"
    );
}

#[test]
fn serve_does_not_create_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: dir.path().join("elsewhere.db"),
        ..Config::default()
    };
    let err = HubDb::open(&config, Create::No).unwrap_err();
    assert!(err.to_string().contains("--create"), "{err}");
    assert!(!config.db.exists(), "nothing was created");
}
