//! `karya-agent --help`: what each command and option is for. (Clap's own words — "Usage",
//! "Options", its error prefix — stay as clap prints them.)

use super::words;

words! {
    about: "karya agent: salinan data UPT yang tetap bekerja tanpa jaringan, dan layanan sinkronisasinya dengan pusat",
        "karya agent: the UPT's offline-first replica and sync service";
    data_dir: "Folder data agen.", "The agent's data directory.";
    json: "Cetak data sebagai JSON.", "Print data as JSON.";

    init: "Siapkan folder data ini untuk sebuah UPT.", "Set up this data directory for a UPT.";
    init_upt: "Kode UPT, misalnya LAPAS-CIPINANG.", "The UPT's code, e.g. LAPAS-CIPINANG.";
    init_hub: "URL pusat, misalnya https://karya.ditjenpas.go.id; ulangi untuk beberapa server pusat (dicoba berurutan)", "The hub's URL, e.g. https://karya.ditjenpas.go.id; repeat it for several hub servers (tried in order)";
    init_token: "Token agen UPT ini (dari karya-hub upt add).", "The UPT's agent token (from karya-hub upt add).";
    init_secret: "Rahasia pseudonim UPT, diekspor dari agen pertamanya (secret export), agar komputer kedua atau pemasangan ulang memberi setiap warga binaan pseudonim yang sama. Bawaan: rahasia baru.",
        "The UPT's pseudonym secret, exported from its first agent (secret export), so a second PC or a reinstall gives every inmate the same pseudonym. Default: a new one.";
    init_ca: "Berkas PEM dari CA yang menandatangani sertifikat pusat (CA pribadi Ditjenpas); CA bawaan sistem tetap dipercaya.",
        "PEM file of the CA that signed the hub's certificate (HQ's private CA); the system's roots are trusted too.";
    init_insecure: "Terima pusat http:// biasa di luar komputer ini (token lewat tanpa enkripsi).",
        "Accept a plain http:// hub outside this machine (tokens travel in clear).";
    init_no_check: "Jangan tanya pusat apakah token diterima (bawaannya init bertanya bila pusat terjangkau, dan menolak token yang ditolak pusat).",
        "Do not ask the hub whether it takes the token (by default init asks when the hub is reachable, and refuses a token it refuses).";

    secret: "Rahasia pseudonim UPT: tidak pernah keluar dari UPT; simpan ekspornya offline.",
        "The UPT's pseudonym secret: it never leaves the UPT; keep the export offline.";
    secret_export: "Tulis rahasia ke BERKAS (hanya pemiliknya yang bisa membaca), untuk init --pseudonym-secret-file.",
        "Write the secret to FILE (readable by its owner only), for init --pseudonym-secret-file.";
    secret_import: "Pasang rahasia UPT dari BERKAS (dari secret export di PC lama), pada instalasi yang belum punya.",
        "Put the UPT's secret from FILE (from secret export on the old PC) on an installation that has none yet.";
    secret_new: "Buat rahasia baru dengan sengaja bila yang lama hilang untuk selamanya (peserta lama yang didaftarkan lagi terhitung dua kali).",
        "Make a new secret on purpose when the old one is lost for good (earlier participants enrolled again count twice).";
    token: "Token UPT untuk pusat.", "The UPT's token for the hub.";
    token_set: "Ganti token (setelah pusat mencabut yang lama atau menerbitkan yang baru). Layanan yang berjalan memakainya pada sinkron berikutnya, yang langsung diminta; tanpa restart.",
        "Replace the token (after HQ revoked the old one or issued a new one). The running service uses it at its next sync, which this command asks for; no restart needed.";
    user: "Akun operator untuk konsol web.", "Operator accounts of the web console.";
    user_add: "Tambah akun konsol; kata sandinya ditanyakan (atau dibaca dari stdin).",
        "Add a console account; the password is asked for (or read from stdin).";
    user_list: "Daftar akun konsol.", "List the console accounts.";
    user_admin_flag: "Akun admin: boleh mengganti token UPT dari konsol.", "An admin account: may change the UPT's token from the console.";
    user_admin: "Jadikan akun admin (boleh mengganti token dari konsol).", "Make an account an admin (may change the token from the console).";
    user_admin_off: "Cabut hak admin akun itu.", "Take the account's admin rights away.";
    user_rm: "Hapus akun konsol.", "Remove a console account.";
    user_passwd: "Ganti kata sandi akun (dan buka kuncinya).", "Set an account's password (and unlock it).";

    run: "Jalankan layanan latar belakang (sinkron, inbox, konsol).", "Run the background service (sync, inbox, console).";
    sync: "Sinkronkan sekarang, lewat layanan yang berjalan atau langsung bila tidak ada.",
        "Sync now, through the running service or directly when none runs.";
    status: "Tampilkan keadaan sinkronisasi.", "Show the sync state.";
    repair: "Ambil ulang satu dokumen dari pusat (untuk dokumen yang terus ditolak).", "Fetch one document again from the hub (for a document it keeps refusing).";
    repair_long: "Ambil ulang satu dokumen utuh dari pusat, membuang salinan di komputer ini: untuk dokumen yang terus ditolak pusat (national, curation; upt dengan --force, yang menghilangkan perubahan lokal yang belum sampai di pusat). Lalu sinkron.",
        "Fetch one document again, whole, from the hub, dropping this PC's copy: for a document the hub keeps refusing (national, curation; upt with --force, which loses local changes not yet on the hub). Then syncs.";
    repair_doc: "national, curation atau upt.", "national, curation or upt.";
    repair_force: "Izinkan memperbaiki upt walau berisi perubahan yang belum ada di pusat.",
        "Allow repairing upt although it holds changes the hub does not have yet.";

    product: "Produk UPT: tambah, ubah, hapus, daftar, foto.", "The UPT's products: add, edit, remove, list, photos.";
    product_add: "Tambah produk; mencetak id-nya.", "Add a product; prints its id.";
    product_edit: "Ubah sebagian isian produk.", "Change some fields of a product.";
    product_rm: "Hapus produk (tetap tercatat di riwayat).", "Remove a product (kept in history as a tombstone).";
    product_list: "Daftar produk UPT ini.", "List this UPT's products.";
    product_show: "Satu produk, dengan keputusan kurasi pusat dan nilai yang berkonflik.",
        "A product with HQ's curation decision and any conflicting values.";
    product_photo: "Foto produk (JPEG, PNG atau WebP; disimpan bersih dan kecil, dikirim ke pusat setelah data).",
        "The product's photos (JPEG, PNG or WebP in; stored cleaned and small, sent to HQ after the records).";
    photo_add: "Tambah foto ke produk, berurutan (foto pertama menjadi sampul).",
        "Add photos to a product, in order (the first photo of a product is its cover).";
    photo_caption: "Keterangan foto yang ditambahkan.", "A caption for the photos added.";
    photo_rm: "Hapus foto dari produk (dengan hash-nya, atau awal hash-nya).",
        "Remove a photo from a product (by its hash, or the start of it).";
    photo_list: "Daftar foto produk.", "List a product's photos.";
    id: "Id produk atau pelatihan (atau 6+ karakter pertamanya).", "The product's or training's id (or its first 6+ characters).";
    name: "Nama.", "Name.";
    category: "Kategori, misalnya kerajinan, \"Seni Lukis\" atau mebel.", "Category, e.g. kerajinan, \"Seni Lukis\" or mebel.";
    price: "Harga dalam rupiah: 275000, 275.000 atau \"Rp 275.000\".", "Price in whole rupiah: 275000, 275.000 or \"Rp 275.000\".";
    unit: "Satuan, misalnya pcs atau set.", "Unit, e.g. pcs or set.";
    stock_start: "Stok awal.", "Stock to start with.";
    workshop: "Bengkel kerja tempat produk dibuat.", "The workshop where it is made.";
    description: "Deskripsi.", "Description.";
    nominate: "Usulkan ke katalog nasional.", "Propose it for the national catalogue.";
    nominate_edit: "ya atau tidak: usulkan ke katalog nasional.", "ya or tidak (yes or no): propose it for the national catalogue.";
    cert: "Sertifikasi, JENIS:NOMOR[:BERLAKU-SAMPAI] (halal, pirt, bpom, haki, sni); boleh berulang.",
        "A certification, KIND:NUMBER[:VALID-UNTIL] (halal, pirt, bpom, haki, sni); repeatable.";
    cert_edit: "Mengganti sertifikasi: JENIS:NOMOR[:BERLAKU-SAMPAI]; boleh berulang.",
        "Replaces the certifications: KIND:NUMBER[:VALID-UNTIL]; repeatable.";

    stock: "Stok produk.", "A product's stock.";
    stock_add: "Tambahkan N ke stok produk (N boleh negatif).", "Add N to a product's stock (N may be negative).";
    stock_n: "Jumlah yang ditambahkan (negatif untuk mengurangi).", "How many to add (negative to take away).";
    sale: "Penjualan.", "Sales.";
    sale_add: "Catat penjualan produk.", "Record a sale of a product.";
    sale_qty: "Jumlah barang terjual.", "How many were sold.";
    sale_revenue: "Pendapatan dalam rupiah: 550000, 550.000 atau \"Rp 550.000\".", "Revenue in whole rupiah: 550000, 550.000 or \"Rp 550.000\".";
    sale_date: "15/11/2026 atau 2026-11-15 (bawaan: hari ini).", "15/11/2026 or 2026-11-15 (default today).";
    sale_channel: "Tempat terjual: pameran, e-katalog, toko, online, lainnya (bawaan: toko).",
        "Where it was sold: pameran, e-katalog, toko, online, lainnya (default toko).";
    sale_below_zero: "Simpan walau stok produk menjadi minus (penjualan mengurangi stok).",
        "Record it even if the product's stock goes below zero (a sale lowers the stock).";

    training: "Pelatihan dan pesertanya.", "Trainings and their participants.";
    training_add: "Tambah pelatihan; mencetak id-nya.", "Add a training; prints its id.";
    program: "Nama program.", "The programme's name.";
    start: "Mulai: 15/11/2026 atau 2026-11-15.", "Start: 15/11/2026 or 2026-11-15.";
    end: "Selesai: 15/11/2026 atau 2026-11-15.", "End: 15/11/2026 or 2026-11-15.";
    hours: "Jumlah jam pelatihan.", "Hours of training.";
    partner: "Mitra, misalnya BLK.", "Partner, e.g. a BLK.";
    instructor: "Instruktur.", "Instructor.";
    capacity: "Kapasitas peserta.", "How many can take part.";
    scheme: "Skema sertifikasi, misalnya BNSP.", "Certification scheme, e.g. BNSP.";
    training_enroll: "Daftarkan warga binaan; nama dan nomor registrasinya tetap di UPT ini.",
        "Enrol an inmate; the name and registration number stay in this UPT.";
    reg_no: "Nomor registrasi warga binaan (tetap di komputer ini).", "The inmate's registration number (stays on this PC).";
    person_name: "Nama warga binaan (tetap di komputer ini).", "The inmate's name (stays on this PC).";
    training_complete: "Tandai peserta lulus.", "Mark a participant as completed.";
    certificate: "Nomor sertifikat.", "Certificate number.";
    training_list: "Daftar pelatihan UPT ini.", "List this UPT's trainings.";
    training_show: "Satu pelatihan dengan pesertanya (nama hanya tampil di komputer ini).",
        "A training with its participants (names are shown on this PC only).";

    import: "Impor berkas CSV atau XLSX berisi produk, penjualan atau pelatihan (semua baris atau tidak sama sekali).",
        "Import a CSV or XLSX file of products, sales or trainings (all rows or none).";
    import_file: "Berkas CSV atau XLSX.", "The CSV or XLSX file.";
    import_dry_run: "Periksa setiap baris dan tunjukkan yang akan diimpor; tidak menulis apa pun.",
        "Check every row and show what would be imported; write nothing.";
    import_again: "Impor berkas yang isinya pernah diimpor (barisnya ditambahkan lagi).",
        "Import a file whose content was imported before (its rows are added again).";
    template: "Tulis templat XLSX (produk, penjualan, pelatihan) untuk diisi lalu diimpor.", "Write an XLSX template (produk, penjualan, pelatihan) to fill in and import.";
    template_long: "Tulis templat XLSX untuk diisi lalu diimpor: produk, penjualan atau pelatihan. Kolom dengan pilihan tetap punya daftar pilihan; baris contohnya tidak pernah diimpor.",
        "Write an XLSX template to fill in and import: produk, penjualan or pelatihan. Its columns with fixed values have dropdowns; its example row is never imported.";
    template_kind: "produk, penjualan atau pelatihan.", "produk, penjualan or pelatihan.";
    template_file: "Berkas XLSX yang ditulis.", "The XLSX file to write.";
    migrate: "Periksa peningkatan skema basis data (--check).", "Check database schema upgrades (--check).";
    migrate_long: "Peningkatan skema basis data. --check menyebut apa yang akan dimigrasikan versi ini saat mulai, tanpa mengubah apa pun.",
        "Database schema upgrades. --check says what starting this version would migrate, without changing anything.";
    migrate_check: "Hanya periksa.", "Only check.";
}

/// The help of a product field's flag (`adding`: for `product add`), by the field's declared
/// name; every field an edit may change has one (a unit test checks it).
pub fn field(name: &str, adding: bool) -> &'static str {
    match (name, adding) {
        ("name", _) => self::name(),
        ("category", _) => category(),
        ("description", _) => description(),
        ("price_idr", _) => price(),
        ("unit", _) => unit(),
        ("workshop", _) => workshop(),
        ("certifications", true) => cert(),
        ("certifications", false) => cert_edit(),
        ("nominated", true) => nominate(),
        ("nominated", false) => nominate_edit(),
        _ => "",
    }
}
