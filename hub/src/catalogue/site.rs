//! The public catalogue's pages: one layout (header with search, footer, canonical and Open
//! Graph tags), listing pages, product pages, the search page and its index, and "Cara
//! membeli". Markup from maud, which escapes every value; the JSON-LD is escaped for its
//! script element (see [`json_ld`]).

use super::{PER_PAGE, square};
use karya_shared::localtime::{rupiah, thousands};
use karya_shared::model::{CurationStatus, Photo, UptInfo};
use karya_shared::views::ProductRow;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::collections::BTreeMap;

pub const STYLE: &str = "*{box-sizing:border-box}
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f8fb;line-height:1.5}
a{color:#0b4f8a}img{max-width:100%;height:auto}
.lewati{position:absolute;left:-999px}.lewati:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header{background:#173d5e;color:#fff;padding:.8rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem 1.5rem;align-items:center}
header a{color:#fff;text-decoration:none}.merek{font-weight:700;font-size:1.1rem}.merek small{display:block;font-weight:400;font-size:.8rem}
header form{display:flex;gap:.4rem;flex:1 1 16rem;max-width:32rem}header input{flex:1;min-width:0;padding:.45rem .6rem;border:0;border-radius:4px;font-size:1rem}
header button,.tombol{background:#f2b632;color:#1d2733;border:0;border-radius:4px;padding:.45rem .9rem;font-weight:600;font-size:1rem;cursor:pointer}
nav.utama{background:#fff;border-bottom:1px solid #d5dce4;padding:.4rem 1rem;display:flex;flex-wrap:wrap;gap:.2rem 1.2rem}
main{padding:1rem;max-width:76rem;margin:0 auto}h1{font-size:1.6rem;line-height:1.25;margin:.4rem 0 .8rem}h2{font-size:1.2rem}
.jumlah,.asal,.jejak{color:#4f5b69;font-size:.92rem}
ul.grid{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.9rem}
.kartu{background:#fff;border:1px solid #d5dce4;border-radius:6px;padding:.6rem;display:flex;flex-direction:column;gap:.2rem}
.kartu img,.kosong{width:100%;height:auto;aspect-ratio:1/1;object-fit:cover;border-radius:4px;display:block}
.kosong{background:#e9eef4;color:#4f5b69;display:flex;align-items:center;justify-content:center;font-size:.85rem}
.kartu-tautan{text-decoration:none;display:flex;flex-direction:column;gap:.35rem}.nama{font-weight:600;text-decoration:underline}
.kartu p{margin:0}.harga{font-weight:700}.lencana{background:#e3f4e8;color:#145a27;padding:.05rem .4rem;border-radius:3px;font-size:.8rem;font-weight:600;align-self:flex-start}
ul.daftar{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem .6rem}ul.daftar a{display:inline-block;background:#fff;border:1px solid #d5dce4;border-radius:999px;padding:.2rem .7rem}
nav.halaman ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem;margin:1.2rem 0}nav.halaman a,nav.halaman span{display:inline-block;padding:.3rem .65rem;border:1px solid #d5dce4;border-radius:4px;background:#fff}
nav.halaman [aria-current]{background:#173d5e;color:#fff;border-color:#173d5e}
.produk{display:grid;gap:1.2rem}@media (min-width:48rem){.produk{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}}
.produk figure{margin:0 0 .8rem}.produk figure img{border-radius:6px;background:#fff}figcaption{color:#4f5b69;font-size:.9rem}
.deskripsi{white-space:pre-line}dl.fakta{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem}dl.fakta dt{font-weight:600}dl.fakta dd{margin:0}
.beli{background:#fff;border:1px solid #d5dce4;border-left:4px solid #f2b632;border-radius:6px;padding:.4rem 1rem}
footer{margin-top:2rem;background:#e9eef4;padding:1rem;font-size:.9rem;color:#2d3946}footer p{max-width:76rem;margin:.3rem auto}
";

pub const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\"><rect width=\"64\" height=\"64\" rx=\"12\" fill=\"#173d5e\"/><path d=\"M14 46V18h8v11l11-11h10L30 31l14 15H33l-11-12v12z\" fill=\"#f2b632\"/></svg>\n";

/// A published product with what its pages show beside it.
pub struct Item<'a> {
    pub p: &'a ProductRow,
    /// Its photos the site carries.
    pub photos: Vec<&'a Photo>,
    /// Its category's name.
    pub category: String,
    pub upt: UptInfo,
}

impl Item<'_> {
    pub fn page(&self) -> String {
        format!("produk/{}-{}.html", self.p.upt.to_lowercase(), self.p.id)
    }

    fn featured(&self) -> bool {
        self.p
            .curation
            .as_ref()
            .is_some_and(|c| c.status == CurationStatus::Featured)
    }

    fn in_stock(&self) -> bool {
        self.p.stock > 0
    }

    /// The square thumbnail's path from the site's root, and its edge.
    fn thumb(&self) -> Option<(String, u32)> {
        self.photos.first().map(|ph| {
            (
                format!("foto/kotak/{}.jpg", ph.hash),
                square::edge_of(ph.width, ph.height),
            )
        })
    }
}

/// A list of products shown [`PER_PAGE`] at a time.
pub struct Listing<'a> {
    /// Its folder from the site's root (`""` for all products).
    pub dir: String,
    pub title: String,
    pub items: Vec<&'a Item<'a>>,
}

impl Listing<'_> {
    pub fn page_path(&self, n: usize) -> String {
        let file = if n == 1 {
            "index.html".to_string()
        } else {
            format!("halaman-{n}.html")
        };
        if self.dir.is_empty() {
            file
        } else {
            format!("{}/{file}", self.dir)
        }
    }
}

/// What every page shares.
pub struct Site<'a> {
    pub base: &'a str,
    pub with_stock: bool,
    /// The day of the export, as people read it.
    pub updated: String,
    /// Category names with their folder and product count.
    pub categories: BTreeMap<String, (String, usize)>,
    pub kanwils: BTreeMap<String, (String, usize)>,
}

/// A page's head: title, description, image for link previews.
struct Head<'a> {
    title: &'a str,
    description: String,
    image: Option<String>,
    kind: &'a str,
}

/// The way from a page at `path` back to the site's root (`../../` for `kanwil/bali/index.html`).
fn root_of(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// At most `n` characters of `s` on one line, cut at a word with `…`.
fn summary(s: &str, n: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= n {
        return flat;
    }
    let cut: String = flat.chars().take(n).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', '.', ';']))
}

impl Site<'_> {
    fn layout(&self, path: &str, head: Head<'_>, body: Markup) -> String {
        let root = root_of(path);
        let canonical = if path == "index.html" {
            format!("{}/", self.base)
        } else {
            format!("{}/{path}", self.base)
        };
        let title = format!("{} — Produk Unggulan Warga Binaan", head.title);
        html! {
            (DOCTYPE)
            html lang="id" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    meta name="description" content=(head.description);
                    link rel="canonical" href=(canonical);
                    link rel="icon" href={ (root) "favicon.svg" } type="image/svg+xml";
                    link rel="stylesheet" href={ (root) "gaya.css" };
                    meta property="og:type" content=(head.kind);
                    meta property="og:site_name" content="Produk Unggulan Warga Binaan";
                    meta property="og:locale" content="id_ID";
                    meta property="og:title" content=(head.title);
                    meta property="og:description" content=(head.description);
                    meta property="og:url" content=(canonical);
                    @if let Some(img) = &head.image {
                        meta property="og:image" content=(img);
                    }
                }
                body {
                    a class="lewati" href="#isi" { "Langsung ke isi" }
                    header {
                        a class="merek" href={ (root) "index.html" } {
                            "Produk Unggulan Warga Binaan"
                            small { "Direktorat Jenderal Pemasyarakatan" }
                        }
                        form role="search" action={ (root) "cari.html" } method="get" {
                            label class="sr" for="q" { "Cari produk" }
                            input id="q" name="q" type="search" placeholder="Cari produk, UPT atau daerah";
                            button type="submit" { "Cari" }
                        }
                    }
                    nav class="utama" aria-label="Jelajahi" {
                        a href={ (root) "index.html" } { "Semua produk" }
                        a href={ (root) "index.html#kategori" } { "Kategori" }
                        a href={ (root) "index.html#kanwil" } { "Kanwil" }
                        a href={ (root) "cara-membeli.html" } { "Cara membeli" }
                    }
                    main id="isi" { (body) }
                    footer {
                        p { "Katalog resmi produk karya warga binaan Lapas, Rutan, LPKA dan Bapas, dikurasi Direktorat Jenderal Pemasyarakatan. Setiap pembelian langsung mendukung pembinaan kemandirian warga binaan." }
                        p { "Diperbarui " (self.updated) " · " a href={ (root) "cara-membeli.html" } { "Cara membeli" } " · " a href={ (root) "sitemap.xml" } { "Peta situs" } }
                    }
                }
            }
        }
        .into_string()
    }

    fn card(&self, root: &str, i: &Item<'_>) -> Markup {
        html! {
            li class="kartu" {
                a class="kartu-tautan" href={ (root) (i.page()) } {
                    @if let Some((thumb, edge)) = i.thumb() {
                        img src={ (root) (thumb) } width=(edge) height=(edge) alt="" loading="lazy";
                    } @else {
                        span class="kosong" { "Belum ada foto" }
                    }
                    span class="nama" { (i.p.name) }
                }
                @if i.featured() { span class="lencana" { "Unggulan" } }
                p class="harga" { (rupiah(i.p.price_idr)) }
                p class="asal" { (i.category) " · " (i.upt.name) }
            }
        }
    }

    fn pager(&self, listing: &Listing<'_>, n: usize, pages: usize, root: &str) -> Markup {
        let href = |k: usize| format!("{root}{}", listing.page_path(k));
        let shown: Vec<usize> = (1..=pages)
            .filter(|k| pages <= 9 || *k == 1 || *k == pages || k.abs_diff(n) <= 2)
            .collect();
        html! {
            @if pages > 1 {
                nav class="halaman" aria-label="Halaman" {
                    ul {
                        @if n > 1 { li { a href=(href(n - 1)) rel="prev" { "‹ Sebelumnya" } } }
                        @for (j, k) in shown.iter().enumerate() {
                            @if j > 0 && *k > shown[j - 1] + 1 { li { span { "…" } } }
                            li {
                                @if *k == n {
                                    a href=(href(*k)) aria-current="page" { (k) }
                                } @else {
                                    a href=(href(*k)) { (k) }
                                }
                            }
                        }
                        @if n < pages { li { a href=(href(n + 1)) rel="next" { "Berikutnya ›" } } }
                    }
                }
            }
        }
    }

    pub fn listing_page(&self, listing: &Listing<'_>, n: usize, pages: usize) -> String {
        let path = listing.page_path(n);
        let root = root_of(&path);
        let total = listing.items.len();
        let from = (n - 1) * PER_PAGE;
        let on_page = &listing.items[from.min(total)..(from + PER_PAGE).min(total)];
        let home = listing.dir.is_empty() && n == 1;
        let h1 = if home {
            "Katalog produk unggulan warga binaan".to_string()
        } else if n > 1 {
            format!("{} — halaman {n}", listing.title)
        } else {
            listing.title.clone()
        };
        let body = html! {
            h1 { (h1) }
            @if home {
                p { (thousands(total as i64)) " produk pilihan karya warga binaan dari Lapas, Rutan, LPKA dan Bapas di seluruh Indonesia, dikurasi Direktorat Jenderal Pemasyarakatan. Semua dijual langsung oleh UPT pembuatnya: lihat " a href="cara-membeli.html" { "cara membeli" } "." }
                section aria-labelledby="kategori" {
                    h2 id="kategori" { "Jelajahi per kategori" }
                    ul class="daftar" {
                        @for (name, (dir, count)) in &self.categories {
                            li { a href={ "kategori/" (dir) "/index.html" } { (name) " (" (thousands(*count as i64)) ")" } }
                        }
                    }
                }
                section aria-labelledby="kanwil" {
                    h2 id="kanwil" { "Jelajahi per Kanwil" }
                    ul class="daftar" {
                        @for (name, (dir, count)) in &self.kanwils {
                            li { a href={ "kanwil/" (dir) "/index.html" } { (name) " (" (thousands(*count as i64)) ")" } }
                        }
                    }
                }
                h2 { "Semua produk" }
            }
            @if total == 0 {
                p { "Belum ada produk yang dikurasi. Kunjungi lagi nanti." }
            } @else {
                p class="jumlah" { (thousands(from as i64 + 1)) "–" (thousands((from + on_page.len()) as i64)) " dari " (thousands(total as i64)) " produk, produk unggulan lebih dulu" }
            }
            ul class="grid" {
                @for i in on_page { (self.card(&root, i)) }
            }
            (self.pager(listing, n, pages, &root))
        };
        let description = if home {
            format!(
                "{} produk karya warga binaan pemasyarakatan di seluruh Indonesia: kerajinan, makanan, busana dan lainnya, dijual langsung oleh UPT pembuatnya.",
                thousands(total as i64)
            )
        } else {
            format!(
                "{}: {} produk karya warga binaan pemasyarakatan, dijual langsung oleh UPT pembuatnya.",
                listing.title,
                thousands(total as i64)
            )
        };
        let image = on_page
            .iter()
            .find_map(|i| i.thumb())
            .map(|(t, _)| format!("{}/{t}", self.base));
        self.layout(
            &path,
            Head {
                title: &h1,
                description,
                image,
                kind: "website",
            },
            body,
        )
    }

    pub fn product_page(&self, i: &Item<'_>) -> String {
        let path = i.page();
        let root = root_of(&path);
        let p = i.p;
        let category_dir = self.categories.get(&i.category).map(|(d, _)| d.clone());
        let kanwil_dir = self.kanwils.get(&i.upt.kanwil).map(|(d, _)| d.clone());
        let body = html! {
            nav class="jejak" aria-label="Jejak" {
                a href={ (root) "index.html" } { "Beranda" }
                @if let Some(dir) = &category_dir {
                    " › " a href={ (root) "kategori/" (dir) "/index.html" } { (i.category) }
                }
            }
            div class="produk" {
                div {
                    @for (n, ph) in i.photos.iter().enumerate() {
                        figure {
                            img src={ (root) "foto/" (ph.hash) ".jpg" } width=(ph.width) height=(ph.height)
                                alt=(if ph.caption.is_empty() { p.name.as_str() } else { ph.caption.as_str() })
                                loading=(if n == 0 { "eager" } else { "lazy" });
                            @if !ph.caption.is_empty() { figcaption { (ph.caption) } }
                        }
                    }
                    @if i.photos.is_empty() { p class="kosong" { "Belum ada foto" } }
                }
                div {
                    h1 { (p.name) }
                    @if i.featured() { p { span class="lencana" { "Produk unggulan" } } }
                    p class="harga" { (rupiah(p.price_idr)) " / " (p.unit) }
                    p {
                        @if i.in_stock() { "Tersedia" } @else { "Sedang habis; tanyakan pemesanan kepada UPT" }
                        @if self.with_stock { " · stok " (thousands(p.stock)) " " (p.unit) }
                    }
                    @if !p.description.is_empty() {
                        h2 { "Tentang produk" }
                        p class="deskripsi" { (p.description) }
                    }
                    dl class="fakta" {
                        dt { "Kategori" } dd { (i.category) }
                        dt { "Dibuat di" } dd {
                            (i.upt.name)
                            @if let Some(dir) = &kanwil_dir { ", " a href={ (root) "kanwil/" (dir) "/index.html" } { "Kanwil " (i.upt.kanwil) } }
                        }
                        @for c in &p.certifications {
                            dt { "Sertifikasi" }
                            dd {
                                (c.kind.as_str().to_uppercase()) " " (c.number)
                                @if let Some(until) = c.valid_until { ", berlaku sampai " (karya_shared::localtime::date(until)) }
                            }
                        }
                        dt { "Kode produk" } dd { (p.upt) "-" (short_id(&p.id)) }
                    }
                    section class="beli" aria-labelledby="cara-membeli" {
                        h2 id="cara-membeli" { "Cara membeli" }
                        (self.contact(i, &root))
                    }
                }
            }
            script type="application/ld+json" { (PreEscaped(self.json_ld(i))) }
        };
        let description = if p.description.trim().is_empty() {
            format!(
                "{} seharga {} per {}, karya warga binaan {}.",
                p.name,
                rupiah(p.price_idr),
                p.unit,
                i.upt.name
            )
        } else {
            summary(&p.description, 155)
        };
        self.layout(
            &path,
            Head {
                title: &p.name,
                description,
                image: i
                    .photos
                    .first()
                    .map(|ph| format!("{}/foto/{}.jpg", self.base, ph.hash)),
                kind: "product",
            },
            body,
        )
    }

    /// How to reach the UPT that sells `i`.
    fn contact(&self, i: &Item<'_>, root: &str) -> Markup {
        let u = &i.upt;
        html! {
            p { "Produk ini dijual langsung oleh " strong { (u.name) } ". Hubungi UPT dan sebutkan kode produk "
                strong { (i.p.upt) "-" (short_id(&i.p.id)) } "." }
            @if u.has_contact() {
                ul {
                    @if !u.address.is_empty() { li { "Alamat: " (u.address.as_str()) } }
                    @if !u.phone.is_empty() { li { "Telepon/WhatsApp: " a href={ "tel:" (tel(&u.phone)) } { (u.phone.as_str()) } } }
                    @if !u.email.is_empty() { li { "Email: " a href={ "mailto:" (u.email.as_str()) } { (u.email.as_str()) } } }
                }
            } @else {
                p { "Kontak UPT ini belum tercatat di katalog; lihat " a href={ (root) "cara-membeli.html" } { "cara membeli" } "." }
            }
        }
    }

    /// A product as schema.org has it, as JSON that cannot end its `<script>` early.
    fn json_ld(&self, i: &Item<'_>) -> String {
        let p = i.p;
        let base = self.base;
        let mut images: Vec<String> = i
            .photos
            .iter()
            .map(|ph| format!("{base}/foto/{}.jpg", ph.hash))
            .collect();
        if let Some((thumb, _)) = i.thumb() {
            images.push(format!("{base}/{thumb}"));
        }
        let mut seller = serde_json::json!({
            "@type": "Organization",
            "name": i.upt.name,
        });
        if !i.upt.address.is_empty() {
            seller["address"] = i.upt.address.as_str().into();
        }
        if !i.upt.phone.is_empty() {
            seller["telephone"] = i.upt.phone.as_str().into();
        }
        if !i.upt.email.is_empty() {
            seller["email"] = i.upt.email.as_str().into();
        }
        let url = format!("{base}/{}", i.page());
        let mut offer = serde_json::json!({
            "@type": "Offer",
            "price": p.price_idr,
            "priceCurrency": "IDR",
            "url": url,
            "itemCondition": "https://schema.org/NewCondition",
            "availability": if i.in_stock() { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
            "seller": seller,
        });
        if self.with_stock {
            offer["inventoryLevel"] =
                serde_json::json!({"@type": "QuantitativeValue", "value": p.stock});
        }
        let v = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "Product",
            "name": p.name,
            "description": p.description,
            "category": i.category,
            "sku": format!("{}-{}", p.upt, p.id),
            "url": url,
            "image": images,
            "brand": {"@type": "Brand", "name": i.upt.name},
            "offers": offer,
        });
        // Every `<` as `\u003c` (the same JSON): no `</script>` and no `<!--` can end or bend
        // the script element, whatever a product's text says.
        serde_json::to_string(&v)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    }

    pub fn search_page(&self) -> String {
        let body = html! {
            h1 { "Cari produk" }
            form action="cari.html" method="get" {
                label for="q-cari" { "Kata yang dicari" }
                " "
                input id="q-cari" name="q" type="search";
                " "
                button class="tombol" type="submit" { "Cari" }
            }
            p id="status" class="jumlah" aria-live="polite" {}
            ul id="hasil" class="grid" {}
            noscript {
                p { "Pencarian memerlukan JavaScript. Tanpa itu, jelajahi produk "
                    a href="index.html#kategori" { "per kategori" } " atau " a href="index.html#kanwil" { "per Kanwil" } "." }
            }
            script { (PreEscaped(SEARCH_SCRIPT)) }
        };
        self.layout(
            "cari.html",
            Head {
                title: "Cari produk",
                description: "Cari produk karya warga binaan pemasyarakatan menurut nama, kategori, UPT atau Kanwil.".into(),
                image: None,
                kind: "website",
            },
            body,
        )
    }

    /// The search's index: names to look up in, as compact as it can be read (each product a
    /// row of name, page, price, category, UPT and Kanwil numbers, thumbnail and its edge).
    pub fn search_index(&self, items: &[Item<'_>]) -> String {
        let mut names: [Vec<String>; 3] = Default::default();
        let mut index = |k: usize, s: &str| -> usize {
            match names[k].iter().position(|n| n == s) {
                Some(i) => i,
                None => {
                    names[k].push(s.to_string());
                    names[k].len() - 1
                }
            }
        };
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|i| {
                let (thumb, edge) = i.thumb().unwrap_or_default();
                serde_json::json!([
                    i.p.name,
                    i.page(),
                    rupiah(i.p.price_idr),
                    index(0, &i.category),
                    index(1, &i.upt.name),
                    index(2, &i.upt.kanwil),
                    thumb,
                    edge,
                ])
            })
            .collect();
        let [kategori, upt, kanwil] = names;
        serde_json::json!({ "kategori": kategori, "upt": upt, "kanwil": kanwil, "produk": rows })
            .to_string()
    }

    pub fn how_to_buy(&self, items: &[Item<'_>]) -> String {
        let mut by_kanwil: BTreeMap<&str, BTreeMap<&str, &UptInfo>> = BTreeMap::new();
        for i in items {
            by_kanwil
                .entry(i.upt.kanwil.as_str())
                .or_default()
                .insert(i.upt.code.as_str(), &i.upt);
        }
        let body = html! {
            h1 { "Cara membeli" }
            ol {
                li { "Pilih produk di katalog dan catat " strong { "kode produknya" } " (tertera di halaman produk)." }
                li { "Hubungi UPT pembuatnya lewat kontak di halaman produk atau di daftar di bawah. UPT menjelaskan ketersediaan, pemesanan khusus dan ongkos kirim." }
                li { "Bayar hanya melalui cara resmi yang diberikan UPT. Petugas tidak pernah meminta pembayaran ke rekening pribadi." }
            }
            h2 { "Kontak UPT" }
            @for (kanwil, upts) in &by_kanwil {
                h3 { "Kanwil " (kanwil) }
                ul {
                    @for u in upts.values() {
                        li {
                            strong { (u.name) }
                            @if u.has_contact() {
                                @if !u.address.is_empty() { " · " (u.address.as_str()) }
                                @if !u.phone.is_empty() { " · " a href={ "tel:" (tel(&u.phone)) } { (u.phone.as_str()) } }
                                @if !u.email.is_empty() { " · " a href={ "mailto:" (u.email.as_str()) } { (u.email.as_str()) } }
                            } @else {
                                " · kontak belum tercatat"
                            }
                        }
                    }
                }
            }
        };
        self.layout(
            "cara-membeli.html",
            Head {
                title: "Cara membeli",
                description: "Cara membeli produk karya warga binaan: hubungi UPT pembuatnya, bayar hanya melalui cara resmi.".into(),
                image: None,
                kind: "website",
            },
            body,
        )
    }
}

/// The first 8 characters of a record id: enough for a person to name a product on the
/// phone (its UPT's code goes before it).
fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A telephone number as a `tel:` link has it: digits and a leading `+`.
fn tel(phone: &str) -> String {
    phone
        .chars()
        .enumerate()
        .filter(|(n, c)| c.is_ascii_digit() || (*n == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
}

/// The search page's script: reads `cari.json`, keeps the products whose name, category, UPT
/// or Kanwil hold every word typed, and shows the first 60 (built with DOM calls, so nothing
/// in the index is read as markup).
const SEARCH_SCRIPT: &str = r#"(function(){
var q=new URLSearchParams(location.search).get('q')||'';
document.getElementById('q-cari').value=q;
var status=document.getElementById('status'),list=document.getElementById('hasil');
function norm(s){return s.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g,'');}
var words=norm(q).split(/\s+/).filter(Boolean);
if(!words.length){status.textContent='Ketik nama produk, kategori, UPT atau Kanwil.';return;}
status.textContent='Mencari…';
fetch('cari.json').then(function(r){if(!r.ok)throw new Error(r.status);return r.json();}).then(function(ix){
var found=ix.produk.filter(function(p){var t=norm(p[0]+' '+ix.kategori[p[3]]+' '+ix.upt[p[4]]+' '+ix.kanwil[p[5]]);
return words.every(function(w){return t.indexOf(w)>=0;});});
status.textContent=found.length?found.length.toLocaleString('id-ID')+' produk cocok dengan “'+q+'”'+(found.length>60?'; 60 pertama ditampilkan':''):'Tidak ada produk yang cocok dengan “'+q+'”. Coba kata lain, atau jelajahi per kategori.';
found.slice(0,60).forEach(function(p){
var li=document.createElement('li');li.className='kartu';
var a=document.createElement('a');a.className='kartu-tautan';a.href=p[1];
if(p[6]){var img=document.createElement('img');img.src=p[6];img.alt='';img.width=p[7];img.height=p[7];img.loading='lazy';a.appendChild(img);}
var n=document.createElement('span');n.className='nama';n.textContent=p[0];a.appendChild(n);li.appendChild(a);
var h=document.createElement('p');h.className='harga';h.textContent=p[2];li.appendChild(h);
var m=document.createElement('p');m.className='asal';m.textContent=ix.kategori[p[3]]+' · '+ix.upt[p[4]];li.appendChild(m);
list.appendChild(li);});
}).catch(function(){status.textContent='Indeks pencarian tidak dapat dimuat. Jelajahi produk per kategori atau per Kanwil.';});
})();"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_description_is_cut_at_a_word() {
        assert_eq!(summary("Tas  anyaman\npandan", 155), "Tas anyaman pandan");
        assert_eq!(
            summary("Tas anyaman pandan asli, kuat", 20),
            "Tas anyaman pandan…"
        );
        assert_eq!(tel("+62 295 (381) 234"), "+62295381234");
        assert_eq!(root_of("kanwil/bali/halaman-2.html"), "../../");
        assert_eq!(root_of("index.html"), "");
    }
}
