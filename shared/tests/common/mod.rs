// Helpers shared by the store tests.
#![allow(dead_code)]

use karya_shared::model::{Product, Training, new_id, now_rfc3339};

pub fn product(name: &str, price: i64, stock: i64) -> Product {
    let now = now_rfc3339();
    Product {
        id: new_id(),
        name: name.into(),
        category: "kerajinan".into(),
        description: String::new(),
        price_idr: price,
        unit: "pcs".into(),
        stock,
        workshop: "Bengkel kayu".into(),
        certifications: vec![],
        nominated: false,
        created_at: now.clone(),
        updated_at: now,
        deleted: false,
    }
}

pub fn training(program: &str) -> Training {
    let now = now_rfc3339();
    Training {
        id: new_id(),
        program: program.into(),
        category: "menjahit".into(),
        partner: "BLK Pati".into(),
        start_date: "2026-01-05".into(),
        end_date: "2026-02-05".into(),
        hours: 40,
        instructor: "Ibu Sari".into(),
        capacity: 20,
        scheme: "BNSP".into(),
        created_at: now.clone(),
        updated_at: now,
        deleted: false,
    }
}
