//! `karya-hub catalogue export DIR`: the public catalogue as a static website that any web
//! server can host, so the hub itself never faces the internet.
//!
//! Only approved and featured products, as HQ approved them. The site has:
//! - listing pages of at most [`PER_PAGE`] products: all products (featured first), and one
//!   list per category and per Kanwil;
//! - a page per product with its photos, description, price, "Cara membeli" with its UPT's
//!   contact (from the registry HQ keeps), and a schema.org `Product` in JSON-LD;
//! - a search that needs no server (`cari.html` reads `cari.json`; without script the
//!   category and Kanwil lists are the way in);
//! - square thumbnails, a favicon, canonical and Open Graph tags, a sitemap and robots.txt.
//!
//! No stock figures unless asked (`--with-stock`; availability is always said), never
//! anything of participants, never a curator's note. The site is written beside DIR and
//! swapped in whole, so a web server never serves half an export.

mod site;
mod square;

use crate::blobs::BlobStore;
use crate::db::HubDb;
use karya_shared::model::{CurationStatus, Photo, UptInfo};
use karya_shared::views::{ProductCursor, ProductFilter, ProductRow};
use site::{Item, Listing, Site};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

pub struct Options {
    /// Where the site will be served from (`https://katalog.ditjenpas.go.id`): canonical
    /// addresses, the sitemap, Open Graph and JSON-LD need absolute addresses.
    pub base_url: String,
    pub with_stock: bool,
}

/// The most products on one listing page.
pub const PER_PAGE: usize = 60;

/// What an export wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct Exported {
    pub products: usize,
    pub photos: usize,
    /// Photos a product names that the hub does not hold (yet): left out.
    pub photos_missing: usize,
    /// Listing pages (all products, per category, per Kanwil).
    pub pages: usize,
    /// Published products whose UPT has no contact for buyers in the registry (`karya-hub
    /// upt contact`): their "Cara membeli" points to HQ instead.
    pub without_contact: usize,
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

/// A name as a path segment: `Jawa Tengah` as `jawa-tengah`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "lain".into() } else { out }
}

/// The photos the site carries: the full photo and its square thumbnail, copied or made once
/// each, whatever number of products name them.
struct Photos<'a> {
    blobs: &'a BlobStore,
    /// The site this export replaces: its square thumbnails are reused.
    old: PathBuf,
    into: PathBuf,
    /// Full photos the site has (by hash).
    have: HashSet<String>,
    missing: HashSet<String>,
}

impl Photos<'_> {
    /// Copies `ph` and makes its thumbnail; false when the hub does not hold it.
    fn take(&mut self, ph: &Photo) -> anyhow::Result<bool> {
        if self.have.contains(&ph.hash) {
            return Ok(true);
        }
        if self.missing.contains(&ph.hash) {
            return Ok(false);
        }
        let from = self.blobs.path(&ph.hash);
        if !from.exists() {
            self.missing.insert(ph.hash.clone());
            return Ok(false);
        }
        let name = format!("{}.jpg", ph.hash);
        std::fs::copy(&from, self.into.join("foto").join(&name))?;
        let thumb = self.into.join("foto/kotak").join(&name);
        let before = self.old.join("foto/kotak").join(&name);
        if !(before.exists() && std::fs::copy(&before, &thumb).is_ok()) {
            square::write(&from, &thumb).map_err(|e| {
                anyhow::anyhow!(
                    "photo {} (in {}): {e}; remove it from the product or the blob folder",
                    ph.hash,
                    from.display()
                )
            })?;
        }
        self.have.insert(ph.hash.clone());
        Ok(true)
    }
}

/// Writes the site into `dir` (replacing what an earlier export left there).
pub fn export(db: &HubDb, blobs: &BlobStore, dir: &Path, o: &Options) -> anyhow::Result<Exported> {
    let base = o.base_url.trim_end_matches('/').to_string();
    anyhow::ensure!(
        base.starts_with("https://") || base.starts_with("http://"),
        "--base-url '{base}' must be the address the site will be served from, e.g. https://katalog.ditjenpas.go.id"
    );
    let products = published(db)?;
    let upts: HashMap<String, UptInfo> = db
        .upt_registry()?
        .into_iter()
        .map(|u| (u.code.to_string(), u))
        .collect();
    let categories = db.product_categories()?;
    let partial = with_suffix(dir, ".partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    for sub in ["produk", "foto/kotak", "kategori", "kanwil"] {
        std::fs::create_dir_all(partial.join(sub))?;
    }
    let mut photos = Photos {
        blobs,
        old: dir.to_path_buf(),
        into: partial.clone(),
        have: HashSet::new(),
        missing: HashSet::new(),
    };
    let mut done = Exported {
        products: products.len(),
        ..Default::default()
    };
    let mut items = Vec::with_capacity(products.len());
    for p in &products {
        let mut shown = Vec::new();
        for ph in &p.photos {
            if photos.take(ph)? {
                shown.push(ph);
            }
        }
        let upt = upts.get(&p.upt).cloned().unwrap_or_else(|| {
            UptInfo::new(&p.upt, &p.upt, karya_shared::model::UptType::Lapas, "")
        });
        if !upt.has_contact() {
            done.without_contact += 1;
        }
        items.push(Item {
            p,
            photos: shown,
            category: categories
                .get(&p.category)
                .cloned()
                .unwrap_or_else(|| p.category.clone()),
            upt,
        });
    }
    done.photos = photos.have.len() * 2;
    done.photos_missing = photos.missing.len();

    let site = Site {
        base: &base,
        with_stock: o.with_stock,
        updated: karya_shared::localtime::date(time::OffsetDateTime::now_utc().date()),
        categories: group(&items, |i| i.category.clone()),
        kanwils: group(&items, |i| i.upt.kanwil.clone()),
    };
    let mut written: Vec<String> = Vec::new();
    let mut write = |path: &str, text: String| -> anyhow::Result<()> {
        let to = partial.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(to, text)?;
        if path.ends_with(".html") {
            written.push(path.to_string());
        }
        Ok(())
    };
    for item in &items {
        write(&item.page(), site.product_page(item))?;
    }
    let all: Vec<&Item> = items.iter().collect();
    let mut listings = vec![Listing {
        dir: String::new(),
        title: "Semua produk".into(),
        items: all,
    }];
    for (name, (dir, _)) in &site.categories {
        listings.push(Listing {
            dir: format!("kategori/{dir}"),
            title: format!("Kategori {name}"),
            items: items.iter().filter(|i| &i.category == name).collect(),
        });
    }
    for (name, (dir, _)) in &site.kanwils {
        listings.push(Listing {
            dir: format!("kanwil/{dir}"),
            title: format!("Kanwil {name}"),
            items: items.iter().filter(|i| &i.upt.kanwil == name).collect(),
        });
    }
    for listing in &listings {
        let pages = listing.items.len().div_ceil(PER_PAGE).max(1);
        for n in 1..=pages {
            write(&listing.page_path(n), site.listing_page(listing, n, pages))?;
            done.pages += 1;
        }
    }
    write("cari.html", site.search_page())?;
    write("cari.json", site.search_index(&items))?;
    write("cara-membeli.html", site.how_to_buy(&items))?;
    write("favicon.svg", site::FAVICON.to_string())?;
    write("gaya.css", site::STYLE.to_string())?;
    write(
        "robots.txt",
        format!("User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n"),
    )?;
    let mut sitemap = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in &written {
        if path == "cari.html" {
            continue;
        }
        sitemap.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            xml_escape(&format!("{base}/{path}"))
        ));
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

/// The names `of` gives the items, each with its path segment and how many items have it,
/// by name.
fn group(items: &[Item], of: impl Fn(&Item) -> String) -> BTreeMap<String, (String, usize)> {
    let mut out: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for i in items {
        let name = of(i);
        if name.is_empty() {
            continue;
        }
        out.entry(name.clone())
            .or_insert_with(|| (slug(&name), 0))
            .1 += 1;
    }
    // Two names with one slug (`Jawa Tengah`, `Jawa-Tengah`) get numbered ones.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (dir, _) in out.values_mut() {
        let n = seen.entry(dir.clone()).or_default();
        *n += 1;
        if *n > 1 {
            dir.push_str(&format!("-{n}"));
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_path_segments() {
        assert_eq!(slug("Jawa Tengah"), "jawa-tengah");
        assert_eq!(slug("Kerajinan & Anyaman"), "kerajinan-anyaman");
        assert_eq!(slug("  DKI Jakarta "), "dki-jakarta");
        assert_eq!(slug("../.."), "lain");
    }
}
