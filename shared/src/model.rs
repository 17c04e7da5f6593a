//! The records karya keeps, and the rules a record must satisfy before it is written.
//!
//! Every record is validated here, once, whether it comes from the command line, a spreadsheet
//! in the inbox or the hub's curation API, so the error an operator reads is the same everywhere.

pub use crate::record::{Conflicts, ValidationError, iso, parse_iso_date};
use crate::text;
use crate::{fixed_set, record, text_newtype};
use serde::{Deserialize, Serialize};
use time::Date;

/// Product categories that ship with karya: (slug, name people read).
pub const PRODUCT_CATEGORIES: &[(&str, &str)] = &[
    ("kerajinan", "Kerajinan"),
    ("fashion-batik", "Fashion & Batik"),
    ("makanan-minuman", "Makanan & Minuman"),
    ("furnitur", "Furnitur"),
    ("pertanian", "Pertanian"),
    ("peternakan", "Peternakan"),
    ("perikanan", "Perikanan"),
    ("jasa", "Jasa"),
    ("seni-lukis", "Seni & Lukis"),
    ("lainnya", "Lainnya"),
];

/// Training categories that ship with karya.
pub const TRAINING_CATEGORIES: &[&str] = &[
    "menjahit",
    "las",
    "barista",
    "tata-boga",
    "tata-rias",
    "otomotif",
    "elektronik",
    "listrik",
    "konstruksi",
    "pertanian",
    "perikanan",
    "peternakan",
    "lainnya",
];

fixed_set! {
    /// Where a sale was made.
    pub enum SaleChannel("channel") {
        Pameran = "pameran",
        EKatalog = "e-katalog",
        Toko = "toko",
        Online = "online",
        Lainnya = "lainnya",
    }
}

fixed_set! {
    /// The certificates a product may carry.
    pub enum CertificationKind("certifications.kind") {
        Halal = "halal",
        Pirt = "pirt",
        Bpom = "bpom",
        Haki = "haki",
        Sni = "sni",
    }
}

fixed_set! {
    /// The kinds of UPT.
    pub enum UptType("type") {
        Lapas = "lapas",
        Rutan = "rutan",
        Lpka = "lpka",
        Lpp = "lpp",
        Bapas = "bapas",
    }
}

fixed_set! {
    /// HQ's decision on a product.
    pub enum CurationStatus("status") {
        Nominated = "nominated",
        InReview = "in_review",
        Approved = "approved",
        Featured = "featured",
        Rejected = "rejected",
    }
}

fixed_set! {
    /// A Kanwil's verification of a product its UPT nominated: on to HQ's queue, or back to
    /// the UPT with a note.
    pub enum VerificationStatus("status") {
        Verified = "verified",
        SentBack = "sent_back",
    }
}

// The enums are declared by `fixed_set!`, which takes no `#[default]` on a variant.
#[allow(clippy::derivable_impls)]
impl Default for CurationStatus {
    fn default() -> Self {
        CurationStatus::Nominated
    }
}

#[allow(clippy::derivable_impls)]
impl Default for VerificationStatus {
    fn default() -> Self {
        VerificationStatus::Verified
    }
}

fixed_set! {
    /// Where a participant stands in a training.
    pub enum ParticipantStatus("status") {
        Enrolled = "enrolled",
        Completed = "completed",
        Dropped = "dropped",
    }
}

impl ParticipantStatus {
    /// How far along: concurrent enrolments of one inmate keep the furthest.
    pub fn rank(self) -> u8 {
        match self {
            ParticipantStatus::Enrolled => 0,
            ParticipantStatus::Dropped => 1,
            ParticipantStatus::Completed => 2,
        }
    }
}

pub const SALE_CHANNELS: &[&str] = SaleChannel::NAMES;
pub const CERTIFICATION_KINDS: &[&str] = CertificationKind::NAMES;
pub const UPT_TYPES: &[&str] = UptType::NAMES;
pub const CURATION_STATUSES: &[&str] = CurationStatus::NAMES;
pub const PARTICIPANT_STATUSES: &[&str] = ParticipantStatus::NAMES;

text_newtype! {
    /// A record's id: random (see [`new_id`]), so replicas never collide.
    pub struct RecordId;
}

text_newtype! {
    /// A line of a UPT's contact (address, telephone, e-mail) that HQ sets in the registry
    /// and the public catalogue shows under "Cara membeli"; most UPTs start without one.
    pub struct Contact;
    left_out_when_empty = true
}

text_newtype! {
    /// The public keys of a UPT's agent installations (hex, space-separated), which a hub
    /// rebuilt from nothing recognises them by (see [`crate::agentkey`]).
    pub struct AgentKeys;
    left_out_when_empty = true
}

impl AgentKeys {
    pub fn contains(&self, key: &str) -> bool {
        self.as_str()
            .split_whitespace()
            .any(|k| k.eq_ignore_ascii_case(key))
    }

    /// The keys with `key` added (the oldest let go beyond [`crate::agentkey::MAX_KEYS`]).
    pub fn with(&self, key: &str) -> AgentKeys {
        let mut keys: Vec<&str> = self.as_str().split_whitespace().collect();
        keys.push(key);
        let from = keys.len().saturating_sub(crate::agentkey::MAX_KEYS);
        keys[from..].join(" ").to_lowercase().into()
    }
}

text_newtype! {
    /// A UPT's code: upper-case letters, digits and dashes (LAPAS-CIPINANG). It names the
    /// UPT's documents and appears in URLs.
    pub struct UptCode;
}

impl RecordId {
    /// A new random id.
    pub fn random() -> RecordId {
        RecordId(new_id())
    }
}

impl UptCode {
    /// Checks a code an operator or a file gave.
    pub fn parse(code: &str) -> Result<UptCode, ValidationError> {
        validate_upt_code(code)?;
        Ok(UptCode(code.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certification {
    pub kind: CertificationKind,
    pub number: String,
    #[serde(default)]
    pub valid_until: Option<Date>,
}

/// A product photo: a JPEG of at most [`PHOTO_EDGE`] px on its long edge and its thumbnail
/// of at most [`THUMB_EDGE`] px, each a blob named by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photo {
    pub hash: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
    pub thumb: String,
    pub thumb_size: u64,
    #[serde(default)]
    pub caption: String,
}

/// The long edge of a stored photo, and of its thumbnail, in pixels.
pub const PHOTO_EDGE: u32 = 1600;
pub const THUMB_EDGE: u32 = 400;
/// Photos of one product.
pub const MAX_PHOTOS: usize = 12;
/// The largest photo blob a record may name (the agent makes them ≤ 300 KB).
pub const MAX_PHOTO_BYTES: u64 = 2 * 1024 * 1024;

/// Whether `s` is a blob name: 64 lowercase hex digits (a SHA-256).
pub fn is_blob_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Photo {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !is_blob_hash(&self.hash) || !is_blob_hash(&self.thumb) {
            return Err(ValidationError::new("photos", text::input::photo_hash()));
        }
        for size in [self.size, self.thumb_size] {
            if size == 0 || size > MAX_PHOTO_BYTES {
                return Err(ValidationError::new(
                    "photos",
                    text::input::photo_size(size, MAX_PHOTO_BYTES),
                ));
            }
        }
        if self.width == 0 || self.height == 0 || self.width.max(self.height) > PHOTO_EDGE {
            return Err(ValidationError::new(
                "photos",
                text::input::photo_edge(self.width, self.height, PHOTO_EDGE),
            ));
        }
        text_at_most("photos.caption", &self.caption, MAX_TEXT)
    }
}

record! {
    /// A product a UPT's workshops make. Its `Default` (empty text, zeros, no) is what a
    /// field added later holds in records written before it, and the base of test fixtures,
    /// so that a new field touches none of them.
    #[derive(Default)]
    pub struct Product = "product";
    key (id: RecordId)
    edit ProductPatch {
        name: String => ["name", "nama", "namaproduk", "produkname", "productname"],
        category: String => ["category", "kategori"],
        description: String => ["description", "deskripsi", "keterangan"],
        price_idr: i64 => ["price", "priceidr", "harga", "hargaidr", "hargarp"],
        unit: String => ["unit", "satuan"],
        /// The workshop (bengkel kerja) that makes it.
        workshop: String => ["workshop", "bengkel", "bengkelkerja"],
        certifications: Vec<Certification>
            => ["certifications", "certification", "sertifikasi", "sertifikat"],
        /// Its photos, in order (the first is the cover). The bytes are blobs beside the
        /// documents, never in them.
        #[serde(default)]
        photos: Vec<Photo>,
        /// The UPT proposes it for the national catalogue.
        nominated: bool => [
            "nominated", "nominate", "diusulkan", "nominasi", "usulan", "usulkan",
            "diusulkankepusat", "usulkankepusat", "usulankepusat",
        ],
    }
    count {
        /// A counter: concurrent increments on different replicas add up.
        stock: i64 => ["stock", "stok", "jumlahstok", "stokakhir", "stoksaatini", "persediaan"],
    }
    keep {
        /// How often the UPT nominated it again after its Kanwil sent it back: the Kanwil's
        /// queue takes it back when this passes the send-back's round. Left out of a new
        /// product's map while zero (most products are never sent back).
        #[serde(default)]
        nominations: Rounds,
        created_at: String,
        updated_at: String,
        /// Tombstone: the record stays in history but is hidden from lists.
        deleted: bool,
    }
}

record! {
    /// A sale of a product (append-only).
    pub struct Sale = "sale";
    key (id: RecordId)
    edit SalePatch {}
    count {}
    keep {
        product_id: RecordId => ["product", "productid", "produk", "idproduk"],
        date: Date => ["date", "tanggal"],
        quantity: i64 => ["quantity", "qty", "jumlah"],
        revenue_idr: i64 => ["revenue", "revenueidr", "pendapatan", "nilai", "nilaipenjualan"],
        channel: SaleChannel => ["channel", "kanal", "saluran"],
        created_at: String,
        /// How much of its product's stock the sale took, given back when it is undone. Left
        /// out of the map while zero: sales recorded before sales lowered stock took none.
        #[serde(default)]
        stock_taken: Rounds,
    }
}

record! {
    /// A vocational training programme.
    pub struct Training = "training";
    key (id: RecordId)
    edit TrainingPatch {
        program: String => ["program", "namaprogram", "pelatihan"],
        category: String => ["category", "kategori"],
        /// BLK/BPVP, LKP, ...
        partner: String => ["partner", "mitra"],
        start_date: Date => ["start", "startdate", "mulai", "tanggalmulai"],
        end_date: Date => ["end", "enddate", "selesai", "tanggalselesai"],
        hours: i64 => ["hours", "jam", "jumlahjam"],
        instructor: String => ["instructor", "instruktur"],
        capacity: i64 => ["capacity", "kapasitas"],
        /// Certification scheme (BNSP/LSP ...).
        scheme: String => ["scheme", "skema", "skemasertifikasi"],
    }
    count {}
    keep {
        created_at: String,
        updated_at: String,
        deleted: bool,
    }
}

record! {
    /// A participant of a training, known to documents only by pseudonym.
    pub struct Participant = "participant";
    key (
        training_id: RecordId,
        /// HMAC-SHA256(agent secret, registration number), hex.
        pseudonym: String,
    )
    edit ParticipantPatch {
        enrolled_at: String,
        hours_attended: i64,
        status: ParticipantStatus,
        certificate: String,
    }
    count {}
    keep {}
}

record! {
    /// HQ's decision on a product (in the UPT's `curation` document). Its `Default` is the
    /// base of fixtures (a field added later touches none of them).
    #[derive(Default)]
    pub struct CurationDecision = "decision";
    key (product_id: RecordId)
    edit DecisionPatch {
        status: CurationStatus,
        note: String,
        decided_by: String,
        decided_at: String,
        /// HQ decided before the product's Kanwil verified it (the note says why).
        #[serde(default)]
        unverified: bool,
        /// The product's values the decision was made on (a later edit of them at the UPT
        /// marks the product "changed after approval"; the public catalogue keeps these).
        /// Empty in decisions made before values were recorded.
        #[serde(default)]
        approved_name: String,
        #[serde(default)]
        approved_price_idr: i64,
        #[serde(default)]
        approved_description: String,
        /// The photos' hashes (of the full images), space-separated, the cover first.
        #[serde(default)]
        approved_photos: String,
    }
    count {}
    keep {}
}

record! {
    /// A Kanwil's verification of a product its UPT nominated (in the UPT's `curation`
    /// document, beside HQ's decision): made at the hub under the verifier's token, it flows
    /// down at the UPT's next sync like HQ's decisions.
    #[derive(Default)]
    pub struct Verification = "verification";
    key (product_id: RecordId)
    edit VerificationPatch {
        status: VerificationStatus,
        note: String,
        decided_by: String,
        decided_at: String,
        /// The product's nominations when it was decided: a product sent back is the
        /// Kanwil's again once the UPT nominates it anew.
        round: Rounds,
        /// The product's values the Kanwil verified (see [`CurationDecision`]).
        approved_name: String,
        approved_price_idr: i64,
        approved_description: String,
        approved_photos: String,
    }
    count {}
    keep {}
}

record! {
    /// A UPT in the national registry.
    pub struct UptInfo = "upt";
    key (code: UptCode)
    edit UptPatch {
        name: String,
        #[serde(rename = "type")]
        kind as "type": UptType,
        kanwil: String,
        /// Where buyers come (the UPT's showroom or office), for the public catalogue.
        #[serde(default)]
        address: Contact,
        /// A telephone or WhatsApp number for buyers.
        #[serde(default)]
        phone: Contact,
        #[serde(default)]
        email: Contact,
        /// Its agents' public keys (written by the hub when an agent authenticated by the
        /// UPT's token offers its key; cleared to revoke them).
        #[serde(default)]
        agent_keys: AgentKeys,
    }
    count {}
    keep {}
}

fn non_empty(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, text::input::empty()));
    }
    Ok(())
}

/// Realistic upper bounds of the record model, checked at the agent and again at the hub, so
/// that national sums cannot overflow and one typo cannot dwarf the country's figures.
pub const MAX_PRICE_IDR: i64 = 10_000_000_000;
pub const MAX_STOCK: i64 = 10_000_000;
pub const MAX_QUANTITY: i64 = 1_000_000;
pub const MAX_REVENUE_IDR: i64 = 1_000_000_000_000;
pub const MAX_HOURS: i64 = 10_000;
pub const MAX_CAPACITY: i64 = 100_000;
/// Characters of a name, program, unit, workshop, note ...; of a description.
pub const MAX_TEXT: usize = 200;
pub const MAX_LONG_TEXT: usize = 5_000;

fn at_most(field: &'static str, value: i64, max: i64) -> Result<(), ValidationError> {
    if value > max {
        return Err(ValidationError::new(
            field,
            text::input::too_large(value, max),
        ));
    }
    Ok(())
}

fn text_at_most(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n > max {
        return Err(ValidationError::new(field, text::input::too_long(n, max)));
    }
    Ok(())
}

fn not_negative(field: &'static str, value: i64) -> Result<(), ValidationError> {
    if value < 0 {
        return Err(ValidationError::new(field, text::input::negative(value)));
    }
    Ok(())
}

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<(), ValidationError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        text::input::unknown_choice(value, &allowed.join(", ")),
    ))
}

/// Reads a calendar date written as YYYY-MM-DD, naming the field when it is not one.
pub fn parse_date(field: &'static str, value: &str) -> Result<Date, ValidationError> {
    parse_iso_date(value).map_err(|reason| ValidationError::new(field, reason))
}

pub fn product_category_slugs() -> Vec<&'static str> {
    PRODUCT_CATEGORIES.iter().map(|(slug, _)| *slug).collect()
}

impl Certification {
    /// Parses `KIND:NUMBER[:VALID-UNTIL]` (`halal:ID31110000123:2028-01-31`), as operators
    /// write it on the command line and in spreadsheets.
    pub fn parse(s: &str) -> Result<Certification, ValidationError> {
        let how = |e: ValidationError| {
            ValidationError::new(
                "certifications",
                text::input::certification_how(&e.to_string()),
            )
        };
        let mut parts = s.trim().splitn(3, ':');
        let kind = parts.next().unwrap_or("").trim().to_lowercase();
        let cert = Certification {
            kind: kind.parse().map_err(how)?,
            number: parts.next().unwrap_or("").trim().to_string(),
            valid_until: match parts.next().map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => Some(
                    crate::input::parse_date(d)
                        .map_err(|reason| {
                            ValidationError::new("certifications.valid_until", reason)
                        })
                        .map_err(how)?,
                ),
                None => None,
            },
        };
        cert.validate().map_err(how)?;
        Ok(cert)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        non_empty("certifications.number", &self.number)?;
        text_at_most("certifications.number", &self.number, MAX_TEXT)
    }
}

/// `halal:ID31110000123:31/01/2028` (see [`Certification::parse`]).
impl crate::input::FromInput for Certification {
    fn from_input(text: &str) -> Result<Self, String> {
        Certification::parse(text).map_err(|e| e.reason)
    }
    fn to_input(&self) -> String {
        match self.valid_until {
            Some(d) => format!("{}:{}:{}", self.kind, self.number, d.to_input()),
            None => format!("{}:{}", self.kind, self.number),
        }
    }
}

/// Photos are added as files (`product photo add`, the console), never typed.
impl crate::input::FromInput for Photo {
    fn from_input(_: &str) -> Result<Self, String> {
        Err(text::input::photo_not_typed())
    }
    fn to_input(&self) -> String {
        self.hash.clone()
    }
}

impl Product {
    /// `categories` is the catalogue in force (the `national` document's, which HQ may extend).
    pub fn validate(&self, categories: &[&str]) -> Result<(), ValidationError> {
        not_negative("stock", self.stock)?;
        self.validate_stored(categories)
    }

    /// The rules for a product as replicas hold it: as [`Product::validate`], except that
    /// the stock may have gone below zero (two PCs each sold the last piece while offline).
    pub fn validate_stored(&self, categories: &[&str]) -> Result<(), ValidationError> {
        non_empty("name", &self.name)?;
        text_at_most("name", &self.name, MAX_TEXT)?;
        text_at_most("description", &self.description, MAX_LONG_TEXT)?;
        text_at_most("unit", &self.unit, MAX_TEXT)?;
        text_at_most("workshop", &self.workshop, MAX_TEXT)?;
        one_of("category", &self.category, categories)?;
        not_negative("price_idr", self.price_idr)?;
        at_most("price_idr", self.price_idr, MAX_PRICE_IDR)?;
        at_most("stock", self.stock.saturating_abs(), MAX_STOCK)?;
        non_empty("unit", &self.unit)?;
        if self.certifications.len() > 20 {
            return Err(ValidationError::new(
                "certifications",
                text::input::at_most_items(self.certifications.len(), 20),
            ));
        }
        self.certifications
            .iter()
            .try_for_each(Certification::validate)?;
        validate_photos(&self.photos)
    }
}

fn validate_photos(photos: &[Photo]) -> Result<(), ValidationError> {
    if photos.len() > MAX_PHOTOS {
        return Err(ValidationError::new(
            "photos",
            text::input::at_most_items(photos.len(), MAX_PHOTOS),
        ));
    }
    photos.iter().try_for_each(Photo::validate)
}

impl ProductPatch {
    pub fn validate(&self, categories: &[&str]) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            non_empty("name", name)?;
        }
        if let Some(category) = &self.category {
            one_of("category", category, categories)?;
        }
        if let Some(price) = self.price_idr {
            not_negative("price_idr", price)?;
            at_most("price_idr", price, MAX_PRICE_IDR)?;
        }
        if let Some(unit) = &self.unit {
            non_empty("unit", unit)?;
        }
        if let Some(certs) = &self.certifications {
            certs.iter().try_for_each(Certification::validate)?;
        }
        if let Some(photos) = &self.photos {
            validate_photos(photos)?;
        }
        Ok(())
    }
}

impl Sale {
    pub fn validate(&self) -> Result<(), ValidationError> {
        non_empty("product_id", &self.product_id)?;
        if self.quantity <= 0 {
            return Err(ValidationError::new(
                "quantity",
                text::input::at_least_one(self.quantity),
            ));
        }
        at_most("quantity", self.quantity, MAX_QUANTITY)?;
        not_negative("revenue_idr", self.revenue_idr)?;
        at_most("revenue_idr", self.revenue_idr, MAX_REVENUE_IDR)?;
        not_negative("stock_taken", self.stock_taken.0)?;
        at_most("stock_taken", self.stock_taken.0, self.quantity)
    }
}

impl Training {
    pub fn validate(&self, categories: &[&str]) -> Result<(), ValidationError> {
        non_empty("program", &self.program)?;
        one_of("category", &self.category, categories)?;
        if self.end_date < self.start_date {
            return Err(ValidationError::new(
                "end_date",
                text::input::end_before_start(&iso(self.end_date), &iso(self.start_date)),
            ));
        }
        text_at_most("program", &self.program, MAX_TEXT)?;
        text_at_most("partner", &self.partner, MAX_TEXT)?;
        text_at_most("instructor", &self.instructor, MAX_TEXT)?;
        text_at_most("scheme", &self.scheme, MAX_TEXT)?;
        not_negative("hours", self.hours)?;
        at_most("hours", self.hours, MAX_HOURS)?;
        not_negative("capacity", self.capacity)?;
        at_most("capacity", self.capacity, MAX_CAPACITY)
    }
}

impl Participant {
    pub fn validate(&self) -> Result<(), ValidationError> {
        non_empty("training_id", &self.training_id)?;
        if self.pseudonym.len() != 64 || !self.pseudonym.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ValidationError::new(
                "pseudonym",
                text::input::pseudonym_shape(),
            ));
        }
        not_negative("hours_attended", self.hours_attended)?;
        at_most("hours_attended", self.hours_attended, MAX_HOURS)?;
        text_at_most("certificate", &self.certificate, MAX_TEXT)
    }
}

impl CurationDecision {
    pub fn validate(&self) -> Result<(), ValidationError> {
        non_empty("product_id", &self.product_id)?;
        text_at_most("note", &self.note, MAX_LONG_TEXT)?;
        non_empty("decided_by", &self.decided_by)
    }

    /// HQ's decision on `p` as it stands (its values recorded); `unverified` when its Kanwil
    /// has not verified it.
    pub fn of(
        p: &Product,
        status: CurationStatus,
        note: String,
        decided_by: String,
        unverified: bool,
    ) -> Self {
        CurationDecision {
            product_id: p.id.clone(),
            status,
            note,
            decided_by,
            decided_at: now_rfc3339(),
            unverified,
            approved_name: p.name.clone(),
            approved_price_idr: p.price_idr,
            approved_description: p.description.clone(),
            approved_photos: p.photo_hashes(),
        }
    }

    /// Whether the product's values differ from those this decision approved (a decision
    /// that recorded none, made before values were recorded, approved whatever it had).
    pub fn changed_since(&self, p: &Product) -> bool {
        !self.approved_name.is_empty()
            && matches!(
                self.status,
                CurationStatus::Approved | CurationStatus::Featured
            )
            && !p.is_as_approved(
                &self.approved_name,
                self.approved_price_idr,
                &self.approved_description,
                &self.approved_photos,
            )
    }
}

/// A count kept as a plain number that a new record leaves out of its map while it is zero
/// (read back as zero): how often a product was nominated again, and the round a Kanwil
/// decided on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rounds(pub i64);

impl crate::record::FieldValue for Rounds {
    fn to_scalar(&self) -> automerge::ScalarValue {
        automerge::ScalarValue::Int(self.0)
    }
    fn from_scalar(v: Option<&automerge::ScalarValue>) -> Result<Self, String> {
        i64::from_scalar(v).map(Rounds)
    }
    fn is_omitted(&self) -> bool {
        self.0 == 0
    }
    fn to_sql(&self) -> rusqlite::types::ToSqlOutput<'_> {
        rusqlite::types::ToSqlOutput::Owned(self.0.into())
    }
    fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        i64::from_sql(v).map(Rounds)
    }
}

impl crate::input::FromInput for Rounds {
    fn from_input(text: &str) -> Result<Self, String> {
        i64::from_input(text).map(Rounds)
    }
    fn to_input(&self) -> String {
        self.0.to_input()
    }
}

impl Product {
    /// Its photos' hashes (of the full images), space-separated, the cover first: what a
    /// curation decision records of them.
    pub fn photo_hashes(&self) -> String {
        self.photos
            .iter()
            .map(|ph| ph.hash.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether its name, price, description and photos are those a decision recorded.
    pub fn is_as_approved(
        &self,
        name: &str,
        price_idr: i64,
        description: &str,
        photos: &str,
    ) -> bool {
        self.name == name
            && self.price_idr == price_idr
            && self.description == description
            && self.photo_hashes() == photos
    }

    /// The product as a decision approved it: its name, price, description and those of its
    /// photos the decision named, in the decision's order (photos added since are left out;
    /// photos removed since are gone).
    pub fn as_approved(
        &self,
        name: &str,
        price_idr: i64,
        description: &str,
        photos: &str,
    ) -> Product {
        let mut p = self.clone();
        p.name = name.to_string();
        p.price_idr = price_idr;
        p.description = description.to_string();
        p.photos = photos
            .split_whitespace()
            .filter_map(|h| self.photos.iter().find(|ph| ph.hash == h).cloned())
            .collect();
        p
    }
}

impl Verification {
    /// A Kanwil's verdict on `p` as it stands (its values and nominations recorded).
    pub fn of(p: &Product, status: VerificationStatus, note: String, decided_by: String) -> Self {
        Verification {
            product_id: p.id.clone(),
            status,
            note,
            decided_by,
            decided_at: now_rfc3339(),
            round: p.nominations,
            approved_name: p.name.clone(),
            approved_price_idr: p.price_idr,
            approved_description: p.description.clone(),
            approved_photos: p.photo_hashes(),
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        non_empty("product_id", &self.product_id)?;
        text_at_most("note", &self.note, MAX_LONG_TEXT)?;
        if self.status == VerificationStatus::SentBack {
            non_empty("note", &self.note)?;
        }
        non_empty("decided_by", &self.decided_by)
    }

    /// Whether the product's values differ from those the Kanwil verified.
    pub fn changed_since(&self, p: &Product) -> bool {
        self.status == VerificationStatus::Verified
            && !p.is_as_approved(
                &self.approved_name,
                self.approved_price_idr,
                &self.approved_description,
                &self.approved_photos,
            )
    }
}

impl UptInfo {
    /// A UPT without contact details yet.
    pub fn new(code: &str, name: &str, kind: UptType, kanwil: &str) -> UptInfo {
        UptInfo {
            code: code.into(),
            name: name.into(),
            kind,
            kanwil: kanwil.into(),
            address: Contact::default(),
            phone: Contact::default(),
            email: Contact::default(),
            agent_keys: AgentKeys::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_upt_code(&self.code)?;
        non_empty("name", &self.name)?;
        non_empty("kanwil", &self.kanwil)?;
        text_at_most("address", &self.address, MAX_TEXT)?;
        text_at_most("phone", &self.phone, 40)?;
        text_at_most("email", &self.email, 120)?;
        let keys_ok = self.agent_keys.split_whitespace().count() <= crate::agentkey::MAX_KEYS
            && self
                .agent_keys
                .split_whitespace()
                .all(crate::agentkey::is_public_hex);
        if !keys_ok {
            return Err(ValidationError::new(
                "agent_keys",
                format!(
                    "at most {} public keys of 64 hex digits",
                    crate::agentkey::MAX_KEYS
                ),
            ));
        }
        let phone_ok = self
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()/".contains(c));
        if !phone_ok {
            return Err(ValidationError::new(
                "phone",
                text::input::not_a_phone(&self.phone),
            ));
        }
        let email_ok = self.email.is_empty()
            || matches!(self.email.split_once('@'), Some((who, host))
                if !who.is_empty() && host.contains('.') && !self.email.contains(char::is_whitespace));
        if !email_ok {
            return Err(ValidationError::new(
                "email",
                text::input::not_an_email(&self.email),
            ));
        }
        Ok(())
    }

    /// Whether buyers have any way to reach it.
    pub fn has_contact(&self) -> bool {
        !(self.address.is_empty() && self.phone.is_empty() && self.email.is_empty())
    }
}

/// UPT codes are upper-case ASCII letters, digits and dashes (LAPAS-CIPINANG): they appear in
/// document ids and URLs.
/// The most bytes of a record's id.
pub const MAX_RECORD_ID: usize = 64;

/// A record's id as the hub takes it: 1 to [`MAX_RECORD_ID`] letters, digits, `-` or `_`
/// (agents make 32 hex digits). An id with `/`, `..`, spaces or control characters would
/// bend a file name, a URL or a terminal line.
pub fn validate_record_id(id: &str) -> Result<(), ValidationError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_RECORD_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "id",
            format!(
                "a record id is 1 to {MAX_RECORD_ID} letters, digits, '-' or '_'; {:?} is not",
                id.chars().take(80).collect::<String>()
            ),
        ))
    }
}

pub fn validate_upt_code(code: &str) -> Result<(), ValidationError> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "code",
            text::input::not_a_upt_code(code),
        ))
    }
}

/// Now, as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Today's date (UTC).
pub fn today_date() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Today's date, YYYY-MM-DD (UTC).
pub fn today() -> String {
    iso(today_date())
}

/// A new record id: random, so replicas never collide without coordinating.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> Product {
        Product {
            id: "p1".into(),
            name: "Tas anyaman".into(),
            category: "kerajinan".into(),
            price_idr: 150_000,
            unit: "pcs".into(),
            stock: 3,
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
            ..Default::default()
        }
    }

    #[test]
    fn product_rules_name_the_field() {
        let cats = product_category_slugs();
        assert!(product().validate(&cats).is_ok());
        let err = Product {
            name: "  ".into(),
            ..product()
        }
        .validate(&cats)
        .unwrap_err();
        assert_eq!(err.field, "name");
        let err = Product {
            price_idr: -1,
            ..product()
        }
        .validate(&cats)
        .unwrap_err();
        assert_eq!(err.field, "price_idr");
        let err = Product {
            category: "mainan".into(),
            ..product()
        }
        .validate(&cats)
        .unwrap_err();
        assert!(err.to_string().contains("kerajinan"), "{err}");
    }

    #[test]
    fn training_end_before_start_is_refused() {
        let t = Training {
            id: "t".into(),
            program: "Menjahit dasar".into(),
            category: "menjahit".into(),
            partner: String::new(),
            start_date: time::macros::date!(2026 - 03 - 10),
            end_date: time::macros::date!(2026 - 03 - 01),
            hours: 10,
            instructor: String::new(),
            capacity: 20,
            scheme: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
            deleted: false,
        };
        let err = t.validate(TRAINING_CATEGORIES).unwrap_err();
        assert_eq!(err.field, "end_date");
        let err = parse_date("start_date", "10/03/2026").unwrap_err();
        assert!(err.reason.contains("2026-11-15"), "{err}");
    }

    #[test]
    fn sale_quantity_must_be_positive() {
        let s = Sale {
            id: "s".into(),
            product_id: "p".into(),
            date: time::macros::date!(2026 - 01 - 02),
            quantity: 0,
            revenue_idr: 0,
            channel: SaleChannel::Toko,
            created_at: String::new(),
            stock_taken: Default::default(),
        };
        assert_eq!(s.validate().unwrap_err().field, "quantity");
        let err = "pasar".parse::<SaleChannel>().unwrap_err();
        assert_eq!(err.field, "channel");
        assert!(err.reason.contains("e-katalog"), "{err}");
    }

    #[test]
    fn upt_codes() {
        assert!(validate_upt_code("LAPAS-CIPINANG").is_ok());
        assert!(validate_upt_code("lapas cipinang").is_err());
        assert!(validate_upt_code("../x").is_err());
    }
}
