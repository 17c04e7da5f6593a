//! What `karya-agent` says about syncing: a sync's outcome, `status`, and the hub as the
//! agent reports it (re-exported by [`super::agent`], where the rest of its words are).

use super::{say, words};

// ---- sync ----

/// A size in kilobytes, as the operator reads it: `1,4 KB`.
pub fn kb(bytes: u64) -> String {
    format!("{} KB", super::decimal(bytes as f64 / 1024.0, 1))
}

#[allow(clippy::too_many_arguments)]
pub fn sync_ok(
    documents: usize,
    round_trips: u32,
    sent: &str,
    received: &str,
    seconds: f64,
    changes: usize,
) -> String {
    let seconds = super::decimal(seconds, 2);
    say!(
        "sinkron berhasil: {documents} dokumen, {round_trips} putaran, terkirim {sent}, diterima {received}, {seconds} detik; {changes} perubahan diterima dari pusat",
        "sync ok: {documents} documents, {round_trips} round trip(s), {sent} sent, {received} received, {seconds} s; {changes} change(s) received from the hub",
    )
}

pub fn refused_by_hub(doc: &str, reason: &str) -> String {
    say!(
        "ditolak pusat: {doc}: {reason}",
        "refused by the hub: {doc}: {reason}",
    )
}

pub fn photos_sent(sent: usize, size: &str, waiting: usize) -> String {
    say!(
        "foto: {sent} terkirim ({size}), {waiting} menunggu dikirim",
        "photos: {sent} sent ({size}), {waiting} still to send",
    )
}

pub fn sync_failed(reason: &str) -> String {
    say!("sinkron gagal: {reason}", "sync failed: {reason}")
}

pub fn sync_token_refused(reason: &str) -> String {
    say!(
        "sinkron gagal: {reason}. Minta token baru untuk UPT ini ke Ditjenpas, lalu jalankan: karya-agent token set TOKEN-BARU",
        "sync failed: {reason}. Ask HQ for a new token for this UPT and run: karya-agent token set NEW-TOKEN",
    )
}

pub fn service_gave_no_reason() -> String {
    say!(
        "layanan tidak menyebut alasannya",
        "the service gave no reason",
    )
}

pub fn service_did_not_answer(reason: &str) -> String {
    say!(
        "layanan yang berjalan tidak menjawab: {reason}",
        "the running service did not answer: {reason}",
    )
}

pub fn documents_refused(docs: &str) -> String {
    say!(
        "pusat menolak {docs}; dokumen lainnya tersinkron. Minta admin pusat memeriksa log penolakan",
        "the hub refused {docs}; the other documents synced. Ask the hub admin to check the refusals log",
    )
}

// ---- status ----

words! {
    label_upt: "UPT:", "UPT:";
    label_hub: "Pusat:", "Hub:";
    label_service: "Layanan:", "Service:";
    label_state: "Keadaan:", "State:";
    label_storage: "Penyimpanan:", "Storage:";
    label_last_success: "Terakhir berhasil:", "Last success:";
    label_offline_since: "Terputus sejak:", "Offline since:";
    label_clock: "Jam:", "Clock:";
    label_last_error: "Galat terakhir:", "Last error:";
    label_pending: "Perubahan antre:", "Pending changes:";
    label_next: "Percobaan berikut:", "Next attempt:";
    label_refused: "Ditolak:", "Refused:";
    label_photos: "Foto:", "Photos:";
    label_registry: "Sidik registri:", "Registry print:";
    running: "berjalan", "running";
    not_running: "tidak berjalan", "not running";
    never: "belum pernah", "never";
    state_idle: "tersinkron", "idle (in sync)";
    state_syncing: "sedang sinkron", "syncing";
    state_refused: "sebagian dokumen ditolak pusat", "refused: the hub refused one or more documents";
    state_token_refused: "token ditolak: pusat tidak menerima token UPT ini (dicabut atau salah ketik); minta token baru ke Ditjenpas lalu jalankan: karya-agent token set TOKEN-BARU",
        "token refused: the hub does not accept this UPT's token (revoked or mistyped); ask HQ for a new one and run: karya-agent token set NEW-TOKEN";
    state_interrupted: "terputus di tengah: sinkron terakhir berhenti sebelum selesai (layanan atau perintahnya berhenti); tidak ada yang hilang, sinkron berikutnya melanjutkan",
        "interrupted: the last sync stopped part-way (the service or the command ended during it); nothing the hub acknowledged is lost, and the next sync goes on from there";
    state_disk_full: "disk penuh: layanan tidak bisa menulis datanya; kosongkan ruang di disk ini, lalu layanan pulih sendiri",
        "disk full: the service cannot write its data; free space on this disk, and it recovers by itself";
    state_read_only: "hanya-baca: folder data tidak bisa ditulis; yang tersimpan tetap ditampilkan",
        "read-only: the data directory cannot be written; showing what is stored";
    next_when_no_service: "- (layanan tidak berjalan; jalankan karya-agent sync)", "- (service not running; run karya-agent sync)";
}

pub fn state_offline(attempt: u32) -> String {
    say!(
        "menunggu jaringan (percobaan ke-{attempt})",
        "offline (attempt {attempt})",
    )
}

pub fn clock_skew(minutes: i64, ahead: bool) -> String {
    match (super::lang(), ahead) {
        (super::Lang::Id, true) => format!(
            "PERINGATAN: jam komputer ini {minutes} menit lebih cepat dari jam pusat; atur tanggal dan jam (Windows: Settings > Time & language), agar catatan baru tidak salah tanggal"
        ),
        (super::Lang::Id, false) => format!(
            "PERINGATAN: jam komputer ini {minutes} menit lebih lambat dari jam pusat; atur tanggal dan jam (Windows: Settings > Time & language), agar catatan baru tidak salah tanggal"
        ),
        (super::Lang::En, ahead) => {
            let way = if ahead { "ahead of" } else { "behind" };
            format!(
                "WARNING: this PC's clock is {minutes} minutes {way} the hub's; set the date and time (Windows: Settings > Time & language), or new records get the wrong dates"
            )
        }
    }
}

pub fn pending_changes(n: usize) -> String {
    say!(
        "{n} perubahan lokal belum sampai di pusat",
        "{n} local change(s) not yet on the hub",
    )
}

pub fn photos_waiting(n: usize) -> String {
    say!(
        "{n} menunggu dikirim (sesudah catatan, pada sinkron berikutnya)",
        "{n} still to send (after the records, at the next syncs)",
    )
}

// ---- the hub, as the agent reports it ----

pub fn hub_unreachable(url: &str, reason: &str) -> String {
    say!(
        "pusat di {url} tidak terjangkau: {reason}; agen tetap bekerja offline dan mencoba lagi",
        "cannot reach the hub at {url}: {reason}; the agent keeps working offline and retries",
    )
}

pub fn hub_answered(status: u16, detail: &str) -> String {
    say!(
        "pusat menjawab {status}: {detail}",
        "the hub answered {status}: {detail}",
    )
}

pub fn hub_refused_token(detail: &str) -> String {
    say!(
        "pusat menolak token: {detail}",
        "the hub refused the token: {detail}",
    )
}

pub fn hub_protocol(detail: &str) -> String {
    say!(
        "pusat tidak memakai protokol agen ini: {detail}",
        "the hub does not speak this agent's protocol: {detail}",
    )
}

pub fn ca_too_big(file: &str) -> String {
    say!(
        "{file} bukan sertifikat CA (lebih dari 1 MB)",
        "{file} is not a CA certificate (over 1 MB)",
    )
}

pub fn ca_not_pem(file: &str, why: &str) -> String {
    say!(
        "{file} bukan sertifikat PEM ({why}); minta sertifikat CA ke Ditjenpas (-----BEGIN CERTIFICATE-----)",
        "{file} is not a PEM certificate ({why}); ask HQ for the CA certificate (-----BEGIN CERTIFICATE-----)",
    )
}

pub fn certificate_untrusted(cert: &str) -> String {
    say!(
        "sertifikat TLS pusat tidak dipercaya ({cert}); bila pusat memakai CA sendiri, berikan sertifikatnya: karya-agent init --ca-file BERKAS (atau ca_file di agent.toml)",
        "the hub's TLS certificate is not trusted ({cert}); if HQ uses its own CA, give its certificate: karya-agent init --ca-file FILE (or ca_file in agent.toml)",
    )
}

words! {
    no_certificate: "tidak ada sertifikat di dalamnya", "no certificate in it";
    timed_out: "waktu habis", "timed out";
    connection_failed: "sambungan gagal", "connection failed";
}
