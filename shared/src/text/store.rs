//! Words the shared layers give back to a person: a record not found, a full or read-only disk.
//! (The agent's own words live in the agent crate; the hub's admin messages stay English.)

use super::say;

pub fn not_found(kind: &str, id: &str) -> String {
    let kind = record_kind(kind);
    say!("{kind} {id} tidak ditemukan", "{kind} {id} not found")
}

/// A record kind's name as the operator reads it (`product` → `produk`).
pub fn record_kind(kind: &str) -> &str {
    match (super::lang(), kind) {
        (super::Lang::Id, "product") => "produk",
        (super::Lang::Id, "sale") => "penjualan",
        (super::Lang::Id, "training") => "pelatihan",
        (super::Lang::Id, "participant") => "peserta",
        (_, other) => other,
    }
}

pub fn disk_full(reason: &str) -> String {
    say!(
        "disk penuh ({reason}); kosongkan ruang lalu coba lagi; tidak ada yang ditulis",
        "the disk is full ({reason}); free some space and try again; nothing was written",
    )
}

pub fn read_only_disk(reason: &str) -> String {
    say!(
        "data berada di disk atau folder hanya-baca ({reason}); yang tersimpan bisa ditampilkan, tetapi tidak ada yang bisa dicatat sampai bisa ditulis lagi",
        "the data is on a read-only disk or folder ({reason}); what is stored can be shown, nothing can be recorded until it is writable again",
    )
}
