//! `karya-hub catalogue export DIR`: the public catalogue as a static website that any web
//! server can host, so the hub itself never faces the internet.
//!
//! Only approved and featured products; per product a page with its photos, description,
//! price and a schema.org `Product` in JSON-LD; an index grouped featured first; a sitemap.
//! No stock figures unless asked (`--with-stock`), never anything of participants, never a
//! UPT's internal notes (the curators' notes stay at HQ). The site is written beside DIR and
//! swapped in whole, so a web server never serves half an export.

use crate::blobs::BlobStore;
use crate::db::HubDb;
use karya_shared::localtime::{rupiah, thousands};
use karya_shared::model::CurationStatus;
use karya_shared::views::{ProductCursor, ProductFilter, ProductRow};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Options {
    /// Where the site will be served from (`https://katalog.ditjenpas.go.id`): the sitemap
    /// and JSON-LD need absolute addresses.
    pub base_url: String,
    pub with_stock: bool,
}

/// What an export wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct Exported {
    pub products: usize,
    pub photos: usize,
    /// Photos a product names that the hub does not hold (yet): left out.
    pub photos_missing: usize,
}

const STYLE: &str = "body{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f8fb}
header{background:#173d5e;color:#fff;padding:1rem 1.5rem}header a{color:#fff}main{padding:1rem 1.5rem;max-width:72rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.card{background:#fff;border:1px solid #ccd;border-radius:6px;padding:.8rem;width:14rem}
.card img{width:100%;height:auto}.price{font-weight:bold}.badge{background:#e3f4e8;color:#17692e;padding:.1rem .4rem;border-radius:3px;font-size:.85rem}
figure{display:inline-block;margin:0 1rem 1rem 0}figure img{max-width:36rem;width:100%;height:auto}.muted{color:#667}";

fn layout(title: &str, root: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="id" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Produk Unggulan Warga Binaan" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { a href={ (root) "index.html" } { strong { "Produk Unggulan Warga Binaan" } } " · Direktorat Jenderal Pemasyarakatan" }
                main { (body) }
            }
        }
    }
    .into_string()
}

fn page_name(p: &ProductRow) -> String {
    format!("{}-{}.html", p.upt.to_lowercase(), p.id)
}

/// A product as schema.org has it, as JSON that cannot end its `<script>` early.
fn json_ld(p: &ProductRow, base: &str, upt_name: &str, category: &str, with_stock: bool) -> String {
    let images: Vec<String> = p
        .photos
        .iter()
        .map(|ph| format!("{base}/foto/{}.jpg", ph.hash))
        .collect();
    let mut offer = serde_json::json!({
        "@type": "Offer",
        "price": p.price_idr,
        "priceCurrency": "IDR",
        "url": format!("{base}/produk/{}", page_name(p)),
    });
    if with_stock {
        offer["availability"] = if p.stock > 0 {
            "https://schema.org/InStock".into()
        } else {
            "https://schema.org/OutOfStock".into()
        };
        offer["inventoryLevel"] =
            serde_json::json!({"@type": "QuantitativeValue", "value": p.stock});
    }
    let v = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "description": p.description,
        "category": category,
        "sku": p.id.to_string(),
        "image": images,
        "brand": {"@type": "Brand", "name": upt_name},
        "offers": offer,
    });
    // Every `<` as `\u003c` (the same JSON): no `</script>` and no `<!--` can end or bend
    // the script element, whatever a product's text says.
    serde_json::to_string(&v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

/// The product as HQ approved it: a name, price, description or photos changed at the UPT
/// since are not published until HQ approves them again (decisions made before values were
/// recorded approved the product as it stands).
fn as_approved(mut p: ProductRow) -> ProductRow {
    if let Some(c) = p.curation.as_ref().filter(|c| !c.approved_name.is_empty()) {
        p.product = p.product.as_approved(
            &c.approved_name,
            c.approved_price_idr,
            &c.approved_description,
            &c.approved_photos,
        );
    }
    p
}

/// Reads the approved and featured products, featured first, each list in catalogue order,
/// as they were approved.
fn published(db: &HubDb) -> anyhow::Result<Vec<ProductRow>> {
    let mut all = Vec::new();
    for status in [CurationStatus::Featured, CurationStatus::Approved] {
        let filter = ProductFilter {
            curation: Some(status.as_str().to_string()),
            ..Default::default()
        };
        let mut after: Option<ProductCursor> = None;
        loop {
            let (items, next) = db.products_after(&filter, after.as_ref(), 1000)?;
            all.extend(items.into_iter().map(as_approved));
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(all)
}

/// Writes the site into `dir` (replacing what an earlier export left there).
pub fn export(db: &HubDb, blobs: &BlobStore, dir: &Path, o: &Options) -> anyhow::Result<Exported> {
    let base = o.base_url.trim_end_matches('/').to_string();
    anyhow::ensure!(
        base.starts_with("https://") || base.starts_with("http://"),
        "--base-url '{base}' must be the address the site will be served from, e.g. https://katalog.ditjenpas.go.id"
    );
    let products = published(db)?;
    let upts: HashMap<String, (String, String)> = db
        .upt_rows(24)?
        .into_iter()
        .map(|u| (u.code, (u.name, u.kanwil)))
        .collect();
    let categories = db.product_categories()?;
    let partial = with_suffix(dir, ".partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(partial.join("produk"))?;
    std::fs::create_dir_all(partial.join("foto"))?;
    let mut done = Exported {
        products: products.len(),
        ..Default::default()
    };
    let mut have_photo = std::collections::HashSet::new();
    for p in &products {
        for ph in &p.photos {
            for hash in [&ph.hash, &ph.thumb] {
                if have_photo.contains(hash) {
                    continue;
                }
                let from = blobs.path(hash);
                if from.exists() {
                    std::fs::copy(&from, partial.join("foto").join(format!("{hash}.jpg")))?;
                    have_photo.insert(hash.clone());
                    done.photos += 1;
                } else {
                    done.photos_missing += 1;
                }
            }
        }
    }
    let category_of = |p: &ProductRow| {
        categories
            .get(&p.category)
            .cloned()
            .unwrap_or_else(|| p.category.clone())
    };
    let upt_of = |p: &ProductRow| {
        upts.get(&p.upt)
            .cloned()
            .unwrap_or_else(|| (p.upt.clone(), String::new()))
    };
    for p in &products {
        let (upt_name, kanwil) = upt_of(p);
        let category = category_of(p);
        let photos: Vec<_> = p
            .photos
            .iter()
            .filter(|ph| have_photo.contains(&ph.hash))
            .collect();
        let body = html! {
            p { a href="../index.html" { "← Semua produk" } }
            h1 { (p.name) }
            @if p.curation.as_ref().is_some_and(|c| c.status == CurationStatus::Featured) {
                p { span class="badge" { "Produk unggulan" } }
            }
            @for ph in &photos {
                figure {
                    img src={ "../foto/" (ph.hash) ".jpg" } alt=(if ph.caption.is_empty() { p.name.as_str() } else { ph.caption.as_str() });
                    @if !ph.caption.is_empty() { figcaption { (ph.caption) } }
                }
            }
            p class="price" { (rupiah(p.price_idr)) " / " (p.unit) }
            @if o.with_stock { p { "Stok: " (thousands(p.stock)) } }
            p { (p.description) }
            p class="muted" { "Kategori " (category) " · dibuat di " (upt_name) @if !kanwil.is_empty() { ", Kanwil " (kanwil) } }
            @for c in &p.certifications {
                p class="muted" { "Sertifikasi " (c.kind.as_str().to_uppercase()) " " (c.number) }
            }
            script type="application/ld+json" { (PreEscaped(json_ld(p, &base, &upt_name, &category, o.with_stock))) }
        };
        std::fs::write(
            partial.join("produk").join(page_name(p)),
            layout(&p.name, "../", body),
        )?;
    }
    let index = html! {
        h1 { "Katalog produk unggulan warga binaan" }
        p class="muted" { (thousands(products.len() as i64)) " produk pilihan dari Lapas, Rutan, LPKA dan Bapas di seluruh Indonesia." }
        div class="grid" {
            @for p in &products {
                div class="card" {
                    @if let Some(ph) = p.photos.iter().find(|ph| have_photo.contains(&ph.thumb)) {
                        img src={ "foto/" (ph.thumb) ".jpg" } alt=(p.name) loading="lazy";
                    }
                    a href={ "produk/" (page_name(p)) } { (p.name) }
                    div class="price" { (rupiah(p.price_idr)) }
                    div class="muted" { (category_of(p)) " · " (upt_of(p).0) }
                }
            }
        }
    };
    std::fs::write(partial.join("index.html"), layout("Katalog", "", index))?;
    let mut sitemap = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let loc = |path: &str| {
        format!(
            "  <url><loc>{}</loc></url>\n",
            xml_escape(&format!("{base}/{path}"))
        )
    };
    sitemap.push_str(&loc("index.html"));
    for p in &products {
        sitemap.push_str(&loc(&format!("produk/{}", page_name(p))));
    }
    sitemap.push_str("</urlset>\n");
    std::fs::write(partial.join("sitemap.xml"), sitemap)?;
    // Swap the new site in whole.
    let old = with_suffix(dir, ".old");
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&partial, dir)?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(done)
}

fn with_suffix(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
