"""Rule tables for bot.classify: places, cases, sentiment, confidence and the lookup API."""

from __future__ import annotations

import pytest

from bot.classify import (
    CASE_KEYS,
    Province,
    all_places,
    all_provinces,
    case_label,
    classify,
    place_by_code,
    places_in_province,
    resolve_case_word,
    resolve_place,
    suggest_places,
)
from bot.models import Place, Sentiment


def city_of(title: str, body: str = "", **kw: str) -> str | None:
    cls = classify(title, body, **kw)
    return cls.city.name if cls.city else None


# ----------------------------------------------------------------------------- gazetteer


def test_region_counts() -> None:
    places = all_places()
    assert len(all_provinces()) == 38
    assert len(places) == 514
    assert sum(p.name.startswith("Kota ") for p in places) == 98


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Solo", ["Kota Surakarta"]),
        ("solo", ["Kota Surakarta"]),
        ("Jogja", ["Kota Yogyakarta"]),
        ("Kota Pahlawan", ["Kota Surabaya"]),
        ("Kota Kembang", ["Kota Bandung"]),
        ("Bumi Sukowati", ["Kabupaten Sragen"]),
        ("Kab. Sukoharjo", ["Kabupaten Sukoharjo"]),
        ("bandung", ["Kota Bandung", "Kabupaten Bandung"]),
        ("33.72", ["Kota Surakarta"]),
        ("3372", ["Kota Surakarta"]),
        ("Jaksel", ["Kota Jakarta Selatan"]),
    ],
)
def test_resolve_place(query: str, expected: list[str]) -> None:
    assert [p.name for p in resolve_place(query)] == expected


def test_resolve_province() -> None:
    assert resolve_place("Jawa Tengah") == [Province("Jawa Tengah", "33")]
    assert all(p.province == "Jawa Tengah" for p in places_in_province("33"))
    assert len(places_in_province("33")) == 35


def test_place_by_code_and_suggest() -> None:
    assert place_by_code("33.72") == Place("Kota Surakarta", "33.72", "Jawa Tengah")
    assert place_by_code("99.99") is None
    assert "Kota Surakarta" in suggest_places("Surakrta")
    assert resolve_place("Atlantis") == []


# ----------------------------------------------------------------------------- places

ALIASES = [
    ("Warga Solo Antusias Sambut Festival Kuliner", "Kota Surakarta"),
    ("Jogja Macet Parah Saat Libur Panjang", "Kota Yogyakarta"),
    ("Ribuan Pelari Ramaikan Maraton di Kota Pahlawan", "Kota Surabaya"),
    ("Kota Kembang Bersiap Sambut Wisatawan", "Kota Bandung"),
    ("Petani Bumi Sukowati Panen Raya Padi", "Kabupaten Sragen"),
    ("Warga Jaksel Keluhkan Jalan Berlubang", "Kota Jakarta Selatan"),
]


@pytest.mark.parametrize(("title", "expected"), ALIASES)
def test_aliases(title: str, expected: str) -> None:
    assert city_of(title) == expected


DATELINES = [
    ("Espos.id, SOLO \u2014 Pemkot menggelar rapat koordinasi dengan para camat.", "Kota Surakarta"),
    ("KLATEN, KOMPAS.com - Ratusan warga mengikuti kerja bakti membersihkan sungai.", "Kabupaten Klaten"),
    ("TRIBUNJATENG.COM, SEMARANG - Petugas menertibkan pedagang di trotoar.", "Kota Semarang"),
    ("Boyolali (ANTARA) - Pemerintah setempat menyalurkan bibit kepada petani.", "Kabupaten Boyolali"),
    ("Liputan6.com, Bandung - Pemerintah menata ulang taman kota.", "Kota Bandung"),
    ("MIMIKA - Hujan deras mengguyur kawasan permukiman warga sejak pagi.", "Kabupaten Mimika"),
]


@pytest.mark.parametrize(("body", "expected"), DATELINES)
def test_datelines(body: str, expected: str) -> None:
    assert city_of("Kegiatan Warga Berlangsung Lancar", body) == expected


def test_jakarta_dateline_is_not_a_city() -> None:
    body = "Liputan6.com, Jakarta - Menteri menyampaikan rencana kebijakan nasional tahun depan."
    cls = classify("Pemerintah Umumkan Kebijakan Baru", body)
    assert cls.city is None


KOTA_KAB = [
    ("Pemkab Bandung Perbaiki Saluran Irigasi", "", "Kabupaten Bandung"),
    ("Pemkot Bandung Perbaiki Saluran Irigasi", "", "Kota Bandung"),
    ("Bupati Malang Resmikan Pasar Desa", "", "Kabupaten Malang"),
    ("Wali Kota Malang Resmikan Taman", "", "Kota Malang"),
    ("Polrestabes Semarang Tangkap Dua Pengedar", "", "Kota Semarang"),
    ("Polres Semarang Tangkap Dua Pengedar", "", "Kabupaten Semarang"),
    ("Polres Sukabumi Kota Amankan Pelaku", "", "Kota Sukabumi"),
    ("Kab. Bogor Siaga Banjir", "", "Kabupaten Bogor"),
    ("Warga Bogor Tertimpa Pohon", "Peristiwa terjadi di Kecamatan Cileungsi pada Senin pagi.", "Kabupaten Bogor"),
    ("Warga Bekasi Tertimpa Pohon", "Peristiwa terjadi di Kecamatan Bekasi Timur pada Senin pagi.", "Kota Bekasi"),
    ("Kebakaran Gudang di Bandung", "Api melalap gudang di pusat kota sejak pagi.", "Kota Bandung"),
]


@pytest.mark.parametrize(("title", "body", "expected"), KOTA_KAB)
def test_kota_vs_kabupaten(title: str, body: str, expected: str) -> None:
    assert city_of(title, body) == expected


ORIGIN_VS_EVENT = [
    (
        "Pria Tewas Tertabrak Kereta di Kabupaten Ngawi",
        "Korban merupakan warga asal Wonogiri yang sedang bekerja di sana.",
        "Kabupaten Ngawi",
    ),
    (
        "Perempuan Tewas Ditabrak Motor di Pasar Minggu",
        "Korban adalah perempuan asal Wonogiri, Jawa Tengah, yang merantau ke Jakarta.",
        "Kota Jakarta Selatan",
    ),
    (
        "Kecelakaan di Jalan Slamet Riyadi",
        "Kecelakaan terjadi di Jalan Slamet Riyadi, Kota Surakarta, pada Minggu malam.",
        "Kota Surakarta",
    ),
    (
        "Pencuri Ditangkap di Klaten",
        "Pelaku berasal dari Boyolali dan kelahiran Sragen, ditangkap polisi di Klaten.",
        "Kabupaten Klaten",
    ),
]


@pytest.mark.parametrize(("title", "body", "expected"), ORIGIN_VS_EVENT)
def test_origin_is_not_location(title: str, body: str, expected: str) -> None:
    assert city_of(title, body) == expected


def test_polsek_names_its_kecamatan() -> None:
    body = "Ibu korban melapor ke Polsek Rantepao. Polisi lalu menangkap pelaku di rumahnya."
    assert city_of("Buruh Bangunan Ditangkap Polisi", body) == "Kabupaten Toraja Utara"


def test_speakers_police_unit_is_not_discounted() -> None:
    body = (
        "MS (43) terancam 15 tahun penjara karena mencabuli siswi SMP. "
        '"Tersangka dijerat pasal perlindungan anak," kata Kasat Reskrim Polres Karawang AKP Bima.'
    )
    assert city_of("Dukun Palsu Cabuli Siswi SMP", body) == "Kabupaten Karawang"


def test_street_name_alone_is_not_a_place() -> None:
    assert city_of("Toko Baru Dibuka di Jalan Sudirman", "Toko itu berada di Jalan Solo, dekat pasar.") is None


@pytest.mark.parametrize(
    "title",
    [
        "Batu Besar Menimpa Rumah Warga Usai Hujan",  # batu = stone
        "Nasib Malang Bocah Penjual Koran",  # malang = unlucky
        "Harga Batu Akik Kembali Naik",
    ],
)
def test_ordinary_words_are_not_places(title: str) -> None:
    body = "Peristiwa itu menjadi perbincangan warga sekitar. nasib malang menimpa batu besar."
    assert city_of(title, body) is None


def test_outlet_name_is_not_place() -> None:
    body = "Sebuah pameran lukisan dibuka di Kabupaten Klaten, seperti dilaporkan Solopos dan Tribun Solo."
    assert city_of("Pameran Lukisan Dibuka", body) == "Kabupaten Klaten"


def test_default_city_is_a_weak_fallback() -> None:
    assert city_of("Harga Cabai Naik", "Pedagang mengeluhkan harga.", default_city="Sragen") == "Kabupaten Sragen"
    assert city_of("Harga Cabai di Klaten Naik", "Pedagang mengeluhkan harga.", default_city="33.14") == (
        "Kabupaten Klaten"
    )


# ----------------------------------------------------------------------------- cases


def cases_of(title: str, body: str = "") -> tuple[str, ...]:
    return classify(title, body).cases


CASES = [
    ("Tabrakan Bus dan Truk di Tol, Tiga Orang Tewas", "", "kecelakaan"),
    ("Kebakaran Hanguskan 10 Rumah di Permukiman Padat", "", "kebakaran"),
    ("Banjir Rendam Ratusan Rumah Warga", "", "banjir"),
    ("Longsor Timbun Jalan Desa", "", "tanah_longsor"),
    ("Gempa Magnitudo 5,1 Guncang Wilayah Pesisir", "", "gempa"),
    ("Puting Beliung Rusak Puluhan Rumah", "", "cuaca_ekstrem"),
    ("Pria Dibunuh Tetangganya karena Utang", "", "pembunuhan"),
    ("Pelajar Dikeroyok Usai Tawuran", "", "penganiayaan"),
    ("Begal Rampas Motor Pelajar", "", "pencurian"),
    ("Polisi Sita 2 Kg Sabu dari Kurir", "", "narkoba"),
    ("Kades Jadi Tersangka Korupsi Dana Desa", "", "korupsi"),
    ("Puluhan Warga Jadi Korban Investasi Bodong", "", "penipuan"),
    ("Guru Ngaji Cabuli Murid", "", "asusila"),
    ("Polisi Gerebek Lokasi Judi Sabung Ayam", "", "judi"),
    ("Ribuan Buruh Demo Tuntut Kenaikan Upah", "", "unjuk_rasa"),
    ("Bocah Tenggelam di Sungai, Tim SAR Lakukan Pencarian", "", "orang_hilang"),
    ("Pemuda Ditemukan Gantung Diri di Kamar", "", "bunuh_diri"),
    ("Densus 88 Tangkap Terduga Teroris", "", "terorisme"),
    ("Puluhan Siswa Keracunan Massal Usai Makan Siang", "", "kesehatan_wabah"),
    ("Pabrik Tekstil PHK 500 Karyawan", "", "ketenagakerjaan"),
    ("KPU Mulai Distribusi Logistik Pilkada", "", "pemilu"),
    ("Jembatan Penghubung Dua Desa Putus", "", "infrastruktur"),
    ("Sungai Tercemar Limbah Pabrik", "", "lingkungan"),
]


@pytest.mark.parametrize(("title", "body", "key"), CASES)
def test_case_keywords(title: str, body: str, key: str) -> None:
    assert key in cases_of(title, body)


TRAPS = [
    (
        "BPJS Ketenagakerjaan Perluas Kepesertaan Pekerja Informal",
        "Program ini memberi jaminan kecelakaan kerja dan jaminan kematian bagi pekerja informal.",
        "kecelakaan",
    ),
    ("Banjir Diskon Akhir Tahun di Pusat Perbelanjaan", "Pengunjung memadati mal yang banjir diskon.", "banjir"),
    ("Pejabat Kebakaran Jenggot Ditanya Anggaran", "Sang pejabat kebakaran jenggot saat ditanya.", "kebakaran"),
    (
        "Politikus Sebut Ada Pembunuhan Karakter",
        "Ia menilai ada upaya pembunuhan karakter terhadap dirinya.",
        "pembunuhan",
    ),
    ("Simulasi Kebakaran Digelar di Gedung DPRD", "Petugas menggelar simulasi kebakaran dan evakuasi.", "kebakaran"),
    ("Cek Fakta: Hoaks Video Candi Terbakar", "Video yang diklaim candi terbakar adalah hoaks.", "kebakaran"),
    ("Gubernur Berharap Tidak Ada OTT di Daerahnya", "Gubernur berharap tidak ada OTT KPK lagi.", "korupsi"),
    ("Pemkab Teken MoU Pencegahan Korupsi dengan KPK", "Nota kesepahaman pencegahan korupsi diteken.", "korupsi"),
]


@pytest.mark.parametrize(("title", "body", "key"), TRAPS)
def test_case_traps(title: str, body: str, key: str) -> None:
    assert key not in cases_of(title, body)


def test_negated_event_does_not_count() -> None:
    assert "kebakaran" not in cases_of("Tidak Ada Kebakaran di Pasar, Hanya Asap Sampah", "")


def test_title_outweighs_passing_mention() -> None:
    body = (
        "Pemkab meresmikan gedung perpustakaan baru. Warga menyambut gembira. "
        "Tahun lalu pernah terjadi kebakaran kecil di gudang dekat lokasi."
    )
    assert cases_of("Perpustakaan Baru Diresmikan", body) == ()


def test_case_vocabulary() -> None:
    assert len(CASE_KEYS) == 23
    assert resolve_case_word("tabrakan") == "kecelakaan"
    assert resolve_case_word("begal") == "pencurian"
    assert resolve_case_word("demo") == "unjuk_rasa"
    assert resolve_case_word("Banjir") == "banjir"
    assert resolve_case_word("xyzzy") is None
    assert case_label("unjuk_rasa") == "Unjuk rasa"
    assert all(case_label(k) for k in CASE_KEYS)


# ----------------------------------------------------------------------------- sentiment

SENTIMENT = [
    ("Dua Warga Tewas dalam Kecelakaan Maut", "Korban meninggal di lokasi kejadian.", Sentiment.NEGATIVE),
    ("Siswa Raih Juara Olimpiade Sains", "Prestasi membanggakan ini disambut gembira.", Sentiment.POSITIVE),
    ("Pemkot Umumkan Jadwal Rapat Anggaran", "Rapat akan digelar pekan depan di balai kota.", Sentiment.NEUTRAL),
    ("Pelayanan Tidak Baik, Warga Kecewa", "Warga kecewa karena pelayanan tidak baik.", Sentiment.NEGATIVE),
    ("Jalan Rusak Tak Kunjung Diperbaiki", "Kerusakan jalan makin parah dan merusak kendaraan.", Sentiment.NEGATIVE),
    # BMKG bulletin without damage: neutral; with casualties: negative.
    (
        "Gempa Magnitudo 4,8 Guncang Garut",
        "Gempa mengguncang wilayah Garut. BMKG menyebut gempa tidak berpotensi tsunami.",
        Sentiment.NEUTRAL,
    ),
    (
        "Gempa Magnitudo 6 Guncang Garut",
        "Gempa mengguncang Garut. Dua warga tewas dan puluhan rumah rusak.",
        Sentiment.NEGATIVE,
    ),
    # Good outcome in the headline: rescue, goods returned.
    (
        "Prajurit Selamatkan Anak Tenggelam di Sungai",
        "Seorang anak tenggelam saat berenang di sungai. "
        "Prajurit yang berjaga berhasil menyelamatkan korban dalam keadaan selamat.",
        Sentiment.POSITIVE,
    ),
    (
        "Polisi Serahkan 14 Motor Curian ke Pemiliknya",
        "Motor yang berhasil disita polisi diserahkan kepada pemiliknya. Warga senang.",
        Sentiment.POSITIVE,
    ),
    (
        "Jasad Pemancing yang Tenggelam Ditemukan",
        "Korban tenggelam ditemukan meninggal oleh tim SAR.",
        Sentiment.NEGATIVE,
    ),
]


@pytest.mark.parametrize(("title", "body", "expected"), SENTIMENT)
def test_sentiment(title: str, body: str, expected: Sentiment) -> None:
    assert classify(title, body).sentiment is expected


def test_negation_flips_lexicon_word() -> None:
    from bot.classify.sentiment import indo_analyzer

    vader = indo_analyzer()
    assert vader.score("Pelayanan rumah sakit itu baik.") > 0
    assert vader.score("Pelayanan rumah sakit itu tidak baik.") < 0
    assert vader.score("Hasilnya bagus sekali.") > vader.score("Hasilnya bagus.")
    assert vader.score("kerusakan") < 0  # inflected form listed, no stemmer flip (kerusakan -> rusa)


def test_english_article_uses_english_lexicon() -> None:
    body = (
        "The governor said the new hospital is a great achievement and residents are happy with "
        "the excellent service. It was opened on Monday in the city."
    )
    cls = classify("New Hospital Opens in Surabaya", body)
    assert cls.sentiment is Sentiment.POSITIVE
    assert "language en" in cls.evidence["sentiment"][0]
    bad = classify("Deadly Fire Kills Five", "The terrible fire killed five people and destroyed homes.")
    assert bad.sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    ("title", "body"),
    [("", ""), ("Judul", ""), ("Banjir", "Banjir. " * 200), ("Festival Seni", "Meriah dan indah.")],
)
def test_confidence_range(title: str, body: str) -> None:
    cls = classify(title, body)
    assert 1 <= cls.confidence <= 100
    assert cls.sentiment in set(Sentiment)


def test_seed_like_record() -> None:
    title = "BPJS Ketenagakerjaan Surakarta Perluas Kepesertaan di Tingkat Kelurahan"
    body = (
        "Esposin, SOLO \u2014 BPJS Ketenagakerjaan Surakarta akan terus mengoptimalkan sosialisasi "
        "kepada masyarakat terkait kepesertaan.\n"
        "Kepala kantor cabang mengatakan pihaknya akan meningkatkan kerja sama dengan pemerintah daerah.\n"
        "Pembayaran manfaat klaim, mulai dari kecelakaan kerja, hari tua, kematian hingga pensiun, "
        "secara umum mengalami kenaikan di Solo."
    )
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == "Kota Surakarta"
    assert "kecelakaan" not in cls.cases
    assert cls.sentiment in {Sentiment.NEUTRAL, Sentiment.POSITIVE}
    assert 1 <= cls.confidence <= 100
    assert cls.evidence["city"]


# ----------------------------------------------------------------------------- traps (unseen texts)


def _others(cls) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.name for p in cls.other_cities]


# A place inside a road or route name ("Tol X-Y", "Jalan Raya X-Y", "jurusan X-Y") is not an event place.
ROUTE_NAMES = [
    (
        "Truk Terguling di Tol Semarang-Solo KM 480",
        "BOYOLALI - Sebuah truk bermuatan pasir terguling di Tol Semarang-Solo KM 480 wilayah Kabupaten "
        "Boyolali, Selasa (12/3/2024). Sopir mengalami luka ringan.",
        "Kabupaten Boyolali",
        "Kota Surakarta",
    ),
    (
        "Dua Motor Bertabrakan di Jalan Raya Solo-Sragen",
        "Kecelakaan terjadi di Jalan Raya Solo-Sragen, Desa Pungsari, Kecamatan Plupuh, Kabupaten Sragen, "
        "Rabu pagi. Satu pengendara tewas di lokasi.",
        "Kabupaten Sragen",
        "Kota Surakarta",
    ),
    (
        "Mobil Tabrak Pohon di Jalan Solo-Yogya",
        "KLATEN - Sebuah mobil menabrak pohon di Jalan Solo-Yogya, Kecamatan Prambanan, Klaten, Kamis malam. "
        "Pengemudi luka-luka.",
        "Kabupaten Klaten",
        "Kota Yogyakarta",
    ),
    (
        "Bus Jurusan Solo-Semarang Terbakar di Salatiga",
        "SALATIGA - Bus jurusan Solo-Semarang terbakar di Jalan Lingkar Salatiga, Jumat. Seluruh penumpang "
        "selamat namun bus hangus.",
        "Kota Salatiga",
        "Kota Semarang",
    ),
    (
        "KA Prambanan Ekspres Tertemper Mobil di Kalasan",
        "SLEMAN - KA Prambanan Ekspres rute Solo-Yogyakarta menemper sebuah mobil di perlintasan tanpa palang "
        "di Kalasan, Sleman. Dua orang luka.",
        "Kabupaten Sleman",
        "Kota Yogyakarta",
    ),
    (
        "Kecelakaan Beruntun di Tol Jakarta-Cikampek KM 47",
        "KARAWANG - Kecelakaan beruntun melibatkan lima kendaraan terjadi di Tol Jakarta-Cikampek KM 47, "
        "Kabupaten Karawang. Tiga orang luka berat.",
        "Kabupaten Karawang",
        "Kota Jakarta Pusat",
    ),
    (
        "Jalur Pantura Semarang-Demak Tergenang Banjir",
        "DEMAK - Banjir setinggi 50 cm merendam Jalur Pantura Semarang-Demak di Kecamatan Sayung, Kabupaten "
        "Demak. Kendaraan terjebak macet.",
        "Kabupaten Demak",
        "Kota Semarang",
    ),
    (
        "Sabu Disita dari Penumpang Pesawat di Bandara Hang Nadim",
        "BATAM - Petugas menyita sabu dari penumpang pesawat rute Batam Balikpapan di Bandara Hang Nadim, Kota Batam.",
        "Kota Batam",
        "Kota Balikpapan",
    ),
]


@pytest.mark.parametrize(("title", "body", "city", "not_other"), ROUTE_NAMES)
def test_route_name_is_not_an_event_place(title: str, body: str, city: str, not_other: str) -> None:
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == city
    assert not_other not in _others(cls)


def test_route_alone_does_not_locate_the_story() -> None:
    # Like Tol Cipularang KM 92 with no regency named: a road is not a place of the event, so no city.
    cls = classify("Kecelakaan di Tol Semarang-Solo", "Kecelakaan terjadi di Tol Semarang-Solo KM 480. Dua orang luka.")
    assert cls.city is None and cls.other_cities == ()


STREET_NAMES = [
    (
        "Jambret Beraksi di Jalan Slamet Riyadi",
        "SOLO - Seorang pejalan kaki dijambret di Jalan Slamet Riyadi, Solo.",
        "Kota Surakarta",
    ),
    (
        "Jambret Beraksi di Jalan Sudirman",
        "SALATIGA - Seorang ibu dijambret di Jalan Sudirman, Kota Salatiga.",
        "Kota Salatiga",
    ),
    (
        "Toko Emas di Jl. Pemuda Dirampok",
        "MAGELANG - Toko emas di Jl. Pemuda, Kota Magelang, dirampok dua pria.",
        "Kota Magelang",
    ),
    (
        "Motor Dicuri di Jalan Solo",
        "KLATEN - Sebuah motor dicuri di depan toko di Jalan Solo, Kecamatan Klaten Tengah, Klaten.",
        "Kabupaten Klaten",
    ),
    (
        "Toko di Jalan Magelang Terbakar",
        "YOGYAKARTA - Sebuah toko di Jalan Magelang, Kota Yogyakarta, terbakar Senin malam.",
        "Kota Yogyakarta",
    ),
]


@pytest.mark.parametrize(("title", "body", "city"), STREET_NAMES)
def test_street_named_after_a_city(title: str, body: str, city: str) -> None:
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == city
    assert _others(cls) == []


# A case word suppressed by a drill, idiom, programme name, negation or hoax check carries no tone.
SUPPRESSED_TONE = [
    (
        "Simulasi Kebakaran di RSUD Sukoharjo",
        "SUKOHARJO - RSUD Sukoharjo menggelar simulasi kebakaran, Rabu. Dalam simulasi itu petugas "
        "mengevakuasi pasien. Kegiatan berjalan lancar dan tidak ada korban.",
        {Sentiment.NEUTRAL},
    ),
    (
        "Gladi Penanganan Gempa di Bantul",
        "BANTUL - BPBD Bantul menggelar gladi penanganan gempa bumi di Balai Desa Srigading, Kamis.",
        {Sentiment.NEUTRAL},
    ),
    (
        "Polisi Pastikan Kabar Begal di Karanganyar Hoaks",
        "KARANGANYAR - Polisi memastikan kabar begal di Karanganyar yang beredar di media sosial hoaks. "
        "Warga diminta tidak panik.",
        {Sentiment.NEUTRAL},
    ),
    (
        "Banjir Diskon di Mal Solo Jelang Lebaran",
        "SOLO - Pusat perbelanjaan di Solo banjir diskon jelang Lebaran. Pengunjung senang berbelanja.",
        {Sentiment.NEUTRAL, Sentiment.POSITIVE},
    ),
    (
        "Wali Kota Kebakaran Jenggot Tanggapi Kritik Warga Madiun",
        "MADIUN - Wali Kota Madiun kebakaran jenggot menanggapi kritik warga soal parkir.",
        {Sentiment.NEUTRAL, Sentiment.POSITIVE},
    ),
    (
        "BPJS Ketenagakerjaan Bayar Jaminan Kecelakaan Kerja Peserta di Boyolali",
        "BOYOLALI - BPJS Ketenagakerjaan membayarkan jaminan kecelakaan kerja kepada peserta di Boyolali.",
        {Sentiment.NEUTRAL, Sentiment.POSITIVE},
    ),
    (
        "Petugas Pastikan Tidak Ada Kebakaran di Pasar Klewer",
        "SOLO - Dinas Pemadam Kebakaran Kota Solo memastikan tidak ada kebakaran di Pasar Klewer, Senin.",
        {Sentiment.NEUTRAL, Sentiment.POSITIVE},
    ),
]


@pytest.mark.parametrize(("title", "body", "allowed"), SUPPRESSED_TONE)
def test_suppressed_case_word_has_no_tone(title: str, body: str, allowed: set[Sentiment]) -> None:
    cls = classify(title, body)
    assert cls.cases == ()
    assert cls.sentiment in allowed, cls.evidence["sentiment"]


def test_real_fire_stays_negative_next_to_a_drill_rule() -> None:
    cls = classify(
        "Kebakaran Gudang di Sukoharjo",
        "SUKOHARJO - Gudang mebel di Kecamatan Grogol terbakar, Rabu dini hari. Kerugian ditaksir ratusan juta rupiah.",
    )
    assert "kebakaran" in cls.cases and cls.sentiment is Sentiment.NEGATIVE


# other_cities: places of the same event only, not places merely mentioned.
OTHER_CITIES = [
    (
        "Pemuda Asal Wonogiri Ditangkap karena Mencuri di Sukoharjo",
        "SUKOHARJO - Seorang pemuda asal Wonogiri ditangkap polisi setelah mencuri motor di Kecamatan "
        "Grogol, Sukoharjo. Warga asal Wonogiri itu sudah tiga kali beraksi.",
        "Kabupaten Sukoharjo",
        [],
    ),
    (
        "Warga Asal Klaten Tewas Tertabrak Kereta di Bekasi",
        "BEKASI - Seorang warga asal Klaten tewas tertabrak kereta di perlintasan Bulak Kapal, Kota Bekasi.",
        "Kota Bekasi",
        [],
    ),
    (
        "Angka Pencurian di Sukoharjo Lebih Tinggi Dibanding Karanganyar",
        "SUKOHARJO - Polres Sukoharjo mencatat 40 kasus pencurian tahun ini, lebih tinggi dibanding "
        "Karanganyar. Di Karanganyar tercatat 25 kasus.",
        "Kabupaten Sukoharjo",
        [],
    ),
    (
        "Korban Kecelakaan di Tegal Dibawa ke RSUD Brebes",
        "TEGAL - Tiga orang luka dalam kecelakaan di Kecamatan Warureja, Kabupaten Tegal. Para korban dibawa "
        "ke RSUD Kabupaten Brebes.",
        "Kabupaten Tegal",
        [],
    ),
    (
        "Pencuri Motor di Sragen Ditangkap di Karanganyar",
        "SRAGEN - Pelaku pencurian motor di Sragen ditangkap polisi di Karanganyar setelah buron dua pekan.",
        "Kabupaten Sragen",
        ["Kabupaten Karanganyar"],
    ),
    (
        "Banjir Rendam Ratusan Rumah di Grobogan dan Demak",
        "GROBOGAN - Banjir merendam ratusan rumah di Kabupaten Grobogan dan Kabupaten Demak setelah Sungai Lusi "
        "meluap. Di Demak, banjir juga merendam jalan desa.",
        "Kabupaten Grobogan",
        ["Kabupaten Demak"],
    ),
]


@pytest.mark.parametrize(("title", "body", "city", "others"), OTHER_CITIES)
def test_other_cities_are_places_of_the_event(title: str, body: str, city: str, others: list[str]) -> None:
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == city
    assert _others(cls) == others


def test_outlet_base_in_dateline_is_not_another_place() -> None:
    cls = classify(
        "Longsor Tutup Jalur Cangar, Mojokerto",
        "Kompas.com, Surabaya - Longsor menutup jalur "
        "Cangar di Kecamatan Pacet, Kabupaten Mojokerto, Jumat. Gubernur menyatakan jalur ditutup "
        "sementara, ujarnya di Surabaya.",
    )
    assert cls.city is not None and cls.city.name == "Kabupaten Mojokerto"
    assert _others(cls) == []


# Names of people and ordinary words that are also places.
PEOPLE_AND_WORDS = [
    (
        "Pak Tegal Jualan Bakso Laris",
        "Pak Tegal, pedagang bakso di Kota Salatiga, mengaku dagangannya laris.",
        "Kota Salatiga",
    ),
    (
        "Ahmad Batu Juara Olimpiade Matematika",
        "Ahmad Batu, siswa SMA di Purworejo, meraih juara olimpiade.",
        "Kabupaten Purworejo",
    ),
    (
        "Pria Curi Motor di Ngawi Ditangkap",
        "Polisi menangkap seorang pria bernama Kediri (38) yang mencuri motor di Kabupaten Ngawi.",
        "Kabupaten Ngawi",
    ),
    (
        "Joko Kediri Ditangkap karena Mencuri di Nganjuk",
        "Polisi menangkap Joko Kediri (41) karena mencuri motor di Nganjuk.",
        "Kabupaten Nganjuk",
    ),
    (
        "Bupati Klaten Sri Mulyani Tinjau Banjir",
        "KLATEN - Bupati Klaten Sri Mulyani meninjau lokasi banjir di Kecamatan Cawas.",
        "Kabupaten Klaten",
    ),
    (
        "Nasib Malang Pemuda di Bantul Tertimpa Pohon",
        "BANTUL - Nasib malang menimpa seorang pemuda di Bantul yang tertimpa pohon.",
        "Kabupaten Bantul",
    ),
    (
        "Bima Arya Kunjungi Pasar di Bogor",
        "BOGOR - Wali Kota Bogor Bima Arya mengunjungi pasar tradisional.",
        "Kota Bogor",
    ),
    (
        "Batu Besar Menutup Jalan Desa di Purworejo",
        "PURWOREJO - Sebuah batu besar menutup jalan desa di Purworejo setelah hujan deras.",
        "Kabupaten Purworejo",
    ),
    ("Kebakaran Rumah di Kota Batu", "BATU - Sebuah rumah di Kota Batu terbakar, Selasa.", "Kota Batu"),
    (
        "Pria di Bali Serang Petugas dengan Senjata Tajam",
        "DENPASAR - Seorang pria menyerang petugas dengan senjata tajam di Kota Denpasar.",
        "Kota Denpasar",
    ),
    (
        "Polres Metro Jakarta Utara Segel Pabrik",
        "Polres Metro Jakarta Utara menyegel pabrik peleburan di Cilincing yang dikeluhkan warga.",
        "Kota Jakarta Utara",
    ),
]


@pytest.mark.parametrize(("title", "body", "city"), PEOPLE_AND_WORDS)
def test_people_and_ordinary_words_are_not_places(title: str, body: str, city: str) -> None:
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == city
    assert _others(cls) == []


ENGLISH = [
    (
        "Fire destroys 20 houses in Solo",
        "A fire destroyed 20 houses in Solo on Monday; no one was hurt, police said.",
        "Kota Surakarta",
        Sentiment.NEGATIVE,
    ),
    (
        "Two killed as bus overturns in Klaten",
        "KLATEN - Two people were killed when a bus overturned in Klaten regency on Sunday, police said.",
        "Kabupaten Klaten",
        Sentiment.NEGATIVE,
    ),
    (
        "Solo opens new public library",
        "The Surakarta city administration opened a new public library in Solo on "
        "Friday, which residents welcomed as a great addition.",
        "Kota Surakarta",
        Sentiment.POSITIVE,
    ),
]


@pytest.mark.parametrize(("title", "body", "city", "sentiment"), ENGLISH)
def test_english_articles(title: str, body: str, city: str, sentiment: Sentiment) -> None:
    cls = classify(title, body)
    assert cls.city is not None and cls.city.name == city
    assert cls.sentiment is sentiment
    assert "language en" in cls.evidence["sentiment"][0]


def test_eval_reports_other_cities_precision_and_recall() -> None:
    from bot.classify.evaluation import evaluate_records, format_report

    rec = {
        "id": "t1",
        "title": "Pencuri Motor di Sragen Ditangkap di Karanganyar",
        "body": "SRAGEN - Pelaku pencurian motor di Sragen ditangkap polisi di Karanganyar setelah buron.",
        "labels": {
            "city": "Kabupaten Sragen",
            "other_cities": ["Kabupaten Karanganyar", "Kabupaten Wonogiri"],
            "cases": ["pencurian"],
            "sentiment": "negative",
        },
    }
    report = evaluate_records([rec])
    assert (report.other_tp, report.other_fp, report.other_fn) == (1, 0, 1)
    assert report.other_cities_pr() == (1.0, 0.5)
    assert "other_cities       precision 1.000 (1/1), recall 0.500 (1/2)" in format_report(report)


# ----------------------------------------------------------------------------- provincial seats, island names

SEATS = [
    # a protest at the governor's office is in the capital when no Kab/Kota is named
    (
        "Mahasiswa Demo Tolak Kenaikan Tarif",
        "Ratusan mahasiswa berunjuk rasa di depan Kantor Gubernur Jawa Tengah, Senin (3/3/2025). Mereka menolak "
        "kenaikan tarif angkutan.",
        "Kota Semarang",
    ),
    (
        "Aksi Buruh Berlangsung Tertib",
        "Massa buruh menggelar aksi di halaman Gedung DPRD Provinsi Sumatera Utara. Mereka meminta dewan memanggil "
        "pengusaha.",
        "Kota Medan",
    ),
    (
        "Ratusan Guru Honorer Geruduk DPRD Sumbar",
        "Ratusan guru honorer mendatangi Gedung DPRD Sumbar untuk menuntut kejelasan status mereka.",
        "Kota Padang",
    ),
    (
        "Mantan Kadis Ditahan Usai Diperiksa",
        "Seorang mantan kepala dinas ditahan usai diperiksa penyidik di Kejati Sulsel, Kamis (5/6/2025).",
        "Kota Makassar",
    ),
    ("Ojol Demo di Kantor Pemprov Jatim", "Ribuan pengemudi ojol berunjuk rasa menuntut tarif baru.", "Kota Surabaya"),
    ("Buruh Demo di Grahadi", "Ribuan buruh berunjuk rasa di depan Gedung Negara Grahadi.", "Kota Surabaya"),
    # an institution that sits outside the capital
    (
        "Tersangka Penipuan Ditahan",
        "Tersangka penipuan arisan itu kini ditahan di Mapolda Kepri untuk pemeriksaan lebih lanjut.",
        "Kota Batam",
    ),
    # a Kab/Kota named as the place of the event still wins over the seat
    (
        "Warga Sragen Protes Jalan Rusak",
        "Warga Kecamatan Gemolong, Kabupaten Sragen, memblokade jalan. Mereka lalu mengirim surat ke Kantor Gubernur "
        "Jawa Tengah.",
        "Kabupaten Sragen",
    ),
]


@pytest.mark.parametrize(("title", "body", "city"), SEATS)
def test_provincial_institution_is_in_the_capital(title: str, body: str, city: str) -> None:
    assert city_of(title, body) == city


def test_governor_named_as_a_person_is_not_a_place() -> None:
    # "Gubernur Jawa Timur" is a person; a province-wide statement has no single Kab/Kota.
    body = "Gubernur Jawa Timur meminta semua daerah menyiapkan anggaran pilkada, katanya, Senin (2/6/2025)."
    assert city_of("Gubernur Minta Daerah Siapkan Anggaran", body) is None


@pytest.mark.parametrize(
    ("title", "city"),
    [
        ("Gelombang Tinggi, Kapal Nelayan Tertahan di Mentawai", "Kabupaten Kepulauan Mentawai"),
        ("Dua Kapal Ikan Asing Ditangkap di Perairan Anambas", "Kabupaten Kepulauan Anambas"),
        ("Harga Cengkeh di Talaud Naik", "Kabupaten Kepulauan Talaud"),
    ],
)
def test_island_regency_by_its_bare_name(title: str, city: str) -> None:
    assert city_of(title) == city


# ----------------------------------------------------------------------------- case precision rules

CASE_PRECISION = [
    # a fatal stabbing is a killing, not also an assault
    (
        "Pemuda Tewas Dibacok Tetangga Usai Cekcok",
        "Seorang pemuda tewas dibacok tetangganya setelah cekcok. Pelaku membacok korban dengan parang hingga "
        "tewas. Polisi menjerat pelaku dengan pasal pembunuhan.",
        ["pembunuhan"],
        ["penganiayaan"],
    ),
    # a body burned to hide a murder is not a fire
    (
        "Pria Dibunuh Lalu Jasadnya Dibakar di Kebun",
        "Seorang pria dibunuh rekannya, lalu jasadnya dibakar di kebun untuk menghilangkan jejak. Pelaku pembunuhan "
        "sudah ditangkap.",
        ["pembunuhan"],
        ["kebakaran"],
    ),
    # an official's title is not an election
    (
        "Bendahara KPU Ditahan Kasus Korupsi Dana Hibah",
        "Bendahara KPU setempat ditahan jaksa karena korupsi dana hibah. Kerugian negara mencapai Rp 1 miliar.",
        ["korupsi"],
        ["pemilu"],
    ),
    # an animal attack is not an assault
    (
        "Nelayan Diserang Buaya Saat Menjala Ikan",
        "Seorang nelayan diserang buaya saat menjala ikan di sungai. Buaya menyerang kakinya sehingga ia terluka.",
        [],
        ["penganiayaan"],
    ),
    # chemical fumes at work are an accident, not an outbreak
    (
        "Tiga Pekerja Pingsan Keracunan Zat Kimia di Pabrik",
        "Tiga pekerja pingsan karena keracunan zat kimia saat membersihkan tangki di pabrik. Satu dirawat.",
        ["kecelakaan"],
        ["kesehatan_wabah"],
    ),
    (
        "Kebocoran Gas di Pabrik Pupuk, Warga Mengungsi",
        "Kebocoran gas terjadi di pabrik pupuk. Semburan gas membuat warga sesak napas dan mengungsi.",
        ["kecelakaan"],
        [],
    ),
    # a mistaken suspicion or a hypothetical is no event
    (
        "Pria Bercadar Cabuli Jemaah Perempuan di Masjid",
        "Pria itu melakukan pelecehan terhadap jemaah perempuan. Ia sempat dikira pencuri karena terburu-buru. "
        "Polisi menyebut pelaku juga sempat disangka mencuri motor.",
        ["asusila"],
        ["pencurian"],
    ),
    # a weapon carried in a robbery is not an assault
    (
        "Kawanan Perampok Bersenjata Celurit Gasak Toko Emas",
        "Tiga perampok membawa celurit dan senjata tajam lain saat merampok toko emas. Pelaku menggasak perhiasan "
        "lalu kabur. Tidak ada korban luka.",
        ["pencurian"],
        ["penganiayaan"],
    ),
    (
        "Pemuda Dibacok Orang Tak Dikenal",
        "Seorang pemuda dibacok dengan celurit oleh orang tak dikenal saat pulang kerja.",
        ["penganiayaan"],
        [],
    ),
    # a concessive clause in the headline is background
    (
        "Meski Ada Kebakaran Lahan, Warga Tetap Gelar Festival Layang-layang",
        "Warga tetap menggelar festival layang-layang di alun-alun, Minggu.",
        [],
        ["kebakaran"],
    ),
    (
        "Nelayan Selamat Meski Tubuhnya Terluka",
        "Nelayan itu selamat setelah digigit ikan saat menjala di muara.",
        [],
        ["penganiayaan"],
    ),
]


@pytest.mark.parametrize(("title", "body", "present", "absent"), CASE_PRECISION)
def test_case_precision_rules(title: str, body: str, present: list[str], absent: list[str]) -> None:
    cases = classify(title, body).cases
    for k in present:
        assert k in cases
    for k in absent:
        assert k not in cases
    if not present:
        assert not set(absent) & set(cases)


@pytest.mark.parametrize(
    ("title", "body", "city"),
    [
        # kecamatan written split, joined or abbreviated
        (
            "Rumah Warga Terbakar",
            "Sebuah rumah di Desa Wanaherang, Kecamatan Gunung Putri, terbakar Senin malam.",
            "Kabupaten Bogor",
        ),
        (
            "Rumah Warga Terbakar",
            "Sebuah rumah di Desa Karang Tengah, Kec. Babakanmadang, terbakar Senin malam.",
            "Kabupaten Bogor",
        ),
        (
            "Dua Motor Hilang di Parkiran",
            "Dua motor dicuri di Kelurahan Mekarsari, Kecamatan Tambunselatan.",
            "Kabupaten Bekasi",
        ),
        ("Banjir Rendam Permukiman di Gunung Sitoli", "Banjir merendam ratusan rumah warga.", "Kota Gunungsitoli"),
    ],
)
def test_kecamatan_spellings(title: str, body: str, city: str) -> None:
    assert city_of(title, body) == city


def test_ordinary_phrases_are_not_kecamatan() -> None:
    body = "Batu putih dan air garam dipakai sejak lama."
    assert city_of("Manfaat Batu Putih dan Air Garam untuk Kulit", body) is None


@pytest.mark.parametrize(
    ("body", "city"),
    [
        ("Kebakaran terjadi di Kec. Cileungsi, Senin malam.", "Kabupaten Bogor"),
        ("Kebakaran terjadi di Kab. Sukoharjo, Senin malam.", "Kabupaten Sukoharjo"),
        ("Kebakaran terjadi di Ds. Sidorejo, Kec. Gunungputri, Senin malam.", "Kabupaten Bogor"),
    ],
)
def test_abbreviated_prefixes(body: str, city: str) -> None:
    assert city_of("Rumah Terbakar", body) == city


# ----------------------------------------------------------------------------- generalisation fixes


def test_quake_bulletin_with_damage_object_noun_is_neutral() -> None:
    body = (
        "Palu (ANTARA) - BMKG mencatat gempa bermagnitudo 4,8 di Kabupaten Donggala. Gempa tidak "
        "berpotensi tsunami. Hingga pagi belum ada laporan kerusakan bangunan maupun korban jiwa."
    )
    cls = classify("Gempa M 4,8 Guncang Donggala, BMKG: Tidak Berpotensi Tsunami", body)
    assert cls.cases == ("gempa",)
    assert cls.sentiment is Sentiment.NEUTRAL


@pytest.mark.parametrize(
    ("title", "body", "absent"),
    [
        (
            "Lantik Pejabat, Gubernur Minta Jauhi Korupsi dan Pungli",
            "Gubernur meminta pejabat menjauhi praktik korupsi, pungutan liar dan penyalahgunaan wewenang.",
            "korupsi",
        ),
        (
            "Dinkes Gelar Imunisasi Campak Serentak untuk 30.000 Anak",
            "Imunisasi campak dan rubela digelar di posyandu agar tidak terjadi penularan campak.",
            "kesehatan_wabah",
        ),
    ],
)
def test_exhortation_and_immunisation_are_no_case(title: str, body: str, absent: str) -> None:
    assert absent not in classify(title, body).cases


def test_negation_covers_a_list() -> None:
    # "tanpa" heads the list: neither item is an event; a later, separate mention still counts.
    cls = classify("Rapat Koordinasi Pemda", "Pemda berkomitmen bekerja tanpa korupsi, pungli dan suap.")
    assert "korupsi" not in cls.cases


@pytest.mark.parametrize(
    "title",
    [
        "Kekeringan Landa 12 Desa, Warga Beli Air Rp 150 Ribu per Tangki",
        "Serangan Hama Tikus, Ratusan Hektare Sawah Gagal Panen",
    ],
)
def test_harm_outside_taxonomy_is_negative(title: str) -> None:
    body = "Warga mengeluhkan kondisi tersebut. Pemerintah daerah menyiapkan bantuan."
    cls = classify(title, body)
    assert cls.cases == ()
    assert cls.sentiment is Sentiment.NEGATIVE


def test_regional_agency_office_is_not_a_place_of_the_event() -> None:
    body = (
        "AMBON, KOMPAS.com - Sebuah speedboat terbalik di perairan Kabupaten Maluku Tengah, Maluku. "
        "Tiga penumpang hilang. Kepala Kantor SAR Ambon mengatakan tim gabungan melakukan pencarian. "
        "Kantor SAR Ambon mengerahkan kapal. Polres Maluku Tengah memeriksa motoris speedboat."
    )
    cls = classify("Speedboat Terbalik di Perairan Maluku Tengah, Tiga Penumpang Hilang", body)
    assert cls.city is not None and cls.city.name == "Kabupaten Maluku Tengah"
    assert [c.name for c in cls.other_cities] == []
