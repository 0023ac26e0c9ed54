"""A loopback Indonesian news site for the full-text tests: a teaser-only RSS feed and article pages.

The pages are built like a real regional portal's: a header menu naming a dozen towns, a breadcrumb,
the article with an inline "Baca juga" box and an ad marker inside its body, tags and share buttons,
a "Terpopuler" sidebar and a "Berita Lainnya" strip about other places and other cases, and a footer
with the newsroom's address. Only the article paragraphs are the story; everything else names other
towns and other cases on purpose, so a leak of boilerplate into the classifier shows up in its labels.

All text here was written for these tests.

    site = NewsSite(feed_server)               # routes /rss and /berita/<slug> on the FeedServer
    site.publish(SOLO_FESTIVAL, KLATEN_FIRE)   # the feed now lists these (newest first)
    feed_server.hits["/berita/..."]            # how often each page was fetched
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from tests.feed_server import FeedServer

SITE_NAME = "Kabar Jateng Raya"
MENU_TOWNS = (
    "Solo",
    "Sukoharjo",
    "Klaten",
    "Boyolali",
    "Sragen",
    "Karanganyar",
    "Wonogiri",
    "Semarang",
    "Jepara",
    "Kudus",
    "Pati",
    "Magelang",
    "Salatiga",
)


@dataclass(frozen=True)
class Story:
    slug: str
    title: str  # as the feed and the page give it (may carry mojibake on purpose)
    teaser: str  # the feed's <description>
    paragraphs: tuple[str, ...]  # the article body on the page
    pub_date: str = "Selasa, 17 Des 2024 08:30:00 WIB"

    @property
    def path(self) -> str:
        return f"/berita/{self.slug}"


SOLO_FESTIVAL = Story(
    slug="festival-jenang-solo-ngarsopuro",
    # "â€”" is an em dash encoded twice, as some CMSes publish it; Pantau must repair it.
    title="Festival Jenang Solo Kembali Digelar â€” Ribuan Warga Antre Sejak Pagi",
    teaser="Ribuan warga memadati kawasan Ngarsopuro sejak pagi untuk mencicipi aneka jenang gratis...",
    paragraphs=(
        "SOLO — Festival Jenang Solo kembali digelar di kawasan Ngarsopuro, Kota Solo, Selasa (17/12/2024). "
        "Sejak pukul 06.00 WIB ribuan warga sudah mengantre di sepanjang koridor untuk mencicipi aneka jenang "
        "yang dibagikan gratis oleh panitia.",
        "Tahun ini panitia menyiapkan 25.000 takir jenang dari 40 jenis, mulai jenang sumsum, jenang grendul, "
        "jenang mutiara hingga jenang suran. Setiap jenis dibuat oleh kelompok warga dari kampung-kampung di "
        "Kota Surakarta.",
        "Wali Kota Surakarta yang membuka acara mengatakan festival ini menjadi cara merawat tradisi sekaligus "
        "menggerakkan usaha kecil. Menurut dia, para perajin jenang kebanjiran pesanan setiap kali festival "
        "berlangsung.",
        "Ketua panitia, Sri Handayani, menuturkan acara berjalan tertib. Petugas mengatur antrean dalam "
        "beberapa lajur sehingga pengunjung lanjut usia dan anak-anak tetap nyaman menunggu giliran.",
        "Selain pembagian jenang, pengunjung disuguhi pentas keroncong, tari gambyong, dan lomba menghias "
        "takir untuk pelajar. Festival ditutup dengan kirab gunungan jenang menuju Pura Mangkunegaran pada "
        "sore harinya.",
    ),
)

KLATEN_FIRE = Story(
    slug="gudang-mebel-ludes-terbakar",
    title="Gudang Mebel Ludes Terbakar, Kerugian Ditaksir Rp 500 Juta",
    teaser="Sebuah gudang mebel ludes dilalap api pada Selasa dini hari. Petugas butuh tiga jam untuk memadamkan.",
    paragraphs=(
        "KLATEN — Sebuah gudang mebel di Desa Ngawonggo, Kecamatan Ceper, Kabupaten Klaten, ludes terbakar "
        "pada Selasa (17/12/2024) dini hari. Api diduga berasal dari korsleting listrik di ruang pengeringan "
        "kayu.",
        "Kapolsek Ceper mengatakan api pertama kali terlihat oleh penjaga malam sekitar pukul 02.15 WIB. "
        "Penjaga sempat berusaha memadamkan api dengan alat pemadam ringan, tetapi api cepat membesar karena "
        "gudang dipenuhi kayu jati dan bahan pelitur.",
        "Dinas Pemadam Kebakaran Klaten mengerahkan lima unit mobil pemadam. Petugas membutuhkan waktu sekitar "
        "tiga jam untuk memadamkan api sepenuhnya dan melakukan pendinginan.",
        "Tidak ada korban jiwa dalam kebakaran itu. Pemilik gudang menaksir kerugian mencapai Rp 500 juta, "
        "terdiri atas bangunan, mesin serut, dan ratusan kursi yang siap dikirim ke pembeli.",
    ),
)

SRAGEN_GRAFT = Story(
    slug="kades-tersangka-dana-desa",
    title="Kejari Tetapkan Kepala Desa Tersangka Penyelewengan Dana Desa",
    teaser="Kejaksaan menetapkan seorang kepala desa sebagai tersangka. Dana yang seharusnya untuk "
    "pembangunan jalan dan saluran irigasi diduga dipakai untuk kepentingan pribadi [&#8230;]",
    paragraphs=(
        "SRAGEN — Kejaksaan Negeri Sragen menetapkan Kepala Desa Jetak, Kecamatan Sidoharjo, Kabupaten "
        "Sragen, sebagai tersangka korupsi dana desa tahun anggaran 2022 dan 2023.",
        "Kepala Seksi Pidana Khusus Kejari Sragen menyebut tersangka diduga membuat laporan "
        "pertanggungjawaban fiktif untuk proyek jalan usaha tani dan saluran irigasi. Kerugian negara "
        "ditaksir mencapai Rp 780 juta berdasarkan audit inspektorat.",
        "Penyidik telah memeriksa 23 saksi, termasuk perangkat desa dan rekanan proyek. Tersangka langsung "
        "ditahan di Rumah Tahanan Sragen selama 20 hari ke depan untuk kepentingan penyidikan.",
        "Atas perbuatannya, tersangka dijerat Pasal 2 dan Pasal 3 Undang-Undang Pemberantasan Tindak Pidana "
        "Korupsi dengan ancaman hukuman penjara paling lama 20 tahun.",
    ),
)

BOYOLALI_CRASH = Story(
    slug="truk-terguling-jalur-solo-semarang",
    title="Truk Muatan Pasir Terguling, Satu Pengendara Motor Luka",
    teaser="Sebuah truk bermuatan pasir terguling setelah remnya blong di turunan. Arus lalu lintas sempat tersendat.",
    paragraphs=(
        "BOYOLALI — Sebuah truk bermuatan pasir terguling di jalur Solo-Semarang, tepatnya di turunan "
        "Desa Banyudono, Kabupaten Boyolali, Rabu (18/12/2024) pagi. Seorang pengendara sepeda motor yang "
        "berada di dekat truk mengalami luka di kaki.",
        "Kasat Lantas Polres Boyolali menjelaskan kecelakaan diduga terjadi karena rem truk blong saat "
        "melaju di turunan. Sopir membanting setir ke kiri untuk menghindari kendaraan di depannya.",
        "Korban dibawa ke rumah sakit terdekat dan kini dirawat. Petugas mengevakuasi truk dengan mobil "
        "derek, sementara arus lalu lintas sempat dialihkan selama dua jam.",
    ),
    pub_date="Rabu, 18 Des 2024 07:05:00 WIB",
)

# What the sidebars of every page list: other places, other cases (a fire in Jepara, drugs in Klaten, …).
POPULAR = (
    ("kebakaran-jepara", "Kebakaran Hebat Hanguskan 20 Rumah di Jepara, Warga Mengungsi"),
    ("sabu-klaten", "Polres Klaten Bekuk Pengedar Sabu, 50 Gram Barang Bukti Disita"),
    ("banjir-pati", "Banjir Rendam Ratusan Rumah di Pati, Jalur Pantura Tersendat"),
    ("pembunuhan-kudus", "Polisi Ungkap Motif Pembunuhan Pedagang di Kudus"),
    ("longsor-wonogiri", "Longsor Tutup Jalan Antardesa di Wonogiri"),
)
OTHER_NEWS = (
    ("tawuran-semarang", "Tawuran Pelajar di Semarang, Tiga Remaja Diamankan"),
    ("demo-buruh-sukoharjo", "Ribuan Buruh Sukoharjo Unjuk Rasa Tuntut Kenaikan Upah"),
    ("pencurian-sapi-boyolali", "Pencurian Sapi Marak, Peternak Boyolali Ronda Malam"),
)


def render_page(story: Story) -> bytes:
    """The article page as a portal serves it, boilerplate and all."""
    menu = "".join(f'<li><a href="/kanal/{t.lower()}">{t}</a></li>' for t in MENU_TOWNS)
    body: list[str] = []
    for number, paragraph in enumerate(story.paragraphs):
        body.append(f"<p>{escape(paragraph)}</p>")
        if number == 0:
            slug, title = POPULAR[0]
            body.append(
                f'<div class="baca-juga-box"><strong>Baca juga:</strong> <a href="/berita/{slug}">{title}</a></div>'
            )
        if number == 1:
            # The inline kind, a plain paragraph in the body: only the paragraph filter catches it.
            slug, title = POPULAR[1]
            body.append(f'<p><strong>Baca Juga:</strong> <a href="/berita/{slug}">{title}</a></p>')
            body.append('<div class="ads-slot">ADVERTISEMENT</div><p>SCROLL TO CONTINUE WITH CONTENT</p>')
    popular = "".join(
        f'<li><span class="rank">{n}</span><a href="/berita/{slug}">{title}</a></li>'
        for n, (slug, title) in enumerate(POPULAR, 1)
    )
    others = "".join(
        f'<div class="card"><a href="/berita/{slug}"><h4>{title}</h4></a><span>2 jam lalu</span></div>'
        for slug, title in OTHER_NEWS
    )
    html = f"""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>{escape(story.title)} - {SITE_NAME}</title>
<meta name="description" content="{escape(story.teaser)}">
<meta property="og:title" content="{escape(story.title)}">
<meta property="og:type" content="article">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"kanal": "jateng"}});</script>
</head>
<body>
<header class="site-header">
  <div class="logo"><a href="/">{SITE_NAME}</a></div>
  <nav class="menu-utama"><ul><li><a href="/">Beranda</a></li>{menu}<li><a href="/indeks">Indeks</a></li></ul></nav>
  <div class="ticker">Breaking: Jalur Semarang-Kudus macet total akibat banjir di Demak</div>
</header>
<div class="breadcrumb"><a href="/">Beranda</a> &rsaquo; <a href="/kanal/jateng">Jawa Tengah</a></div>
<main class="container">
  <article class="detail">
    <h1 class="detail__title">{escape(story.title)}</h1>
    <div class="detail__meta"><span class="author">Penulis: Rina Kartikasari</span>
      <span class="date">{escape(story.pub_date)}</span></div>
    <figure><img src="/img/{story.slug}.jpg" alt="foto"><figcaption>Foto: Dok. {SITE_NAME}</figcaption></figure>
    <div class="detail__body">
      {"".join(body)}
    </div>
    <div class="detail__tags">Tag: <a href="/tag/jateng">jateng</a> <a href="/tag/berita">berita daerah</a></div>
    <div class="share-box">Bagikan: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">WhatsApp</a></div>
    <div class="comments"><h3>Komentar</h3><p>Warga Jepara: semoga cepat ditangani, di kampung kami juga
      sering kebakaran.</p></div>
  </article>
  <aside class="sidebar">
    <div class="widget terpopuler"><h3>Terpopuler</h3><ol>{popular}</ol></div>
  </aside>
  <section class="berita-lainnya"><h3>Berita Lainnya</h3>{others}</section>
</main>
<footer class="site-footer">
  <p>{SITE_NAME} — Jl. Pemuda No. 120, Semarang, Jawa Tengah. Biro: Solo, Klaten, Kudus, Magelang.</p>
  <p>Redaksi | Pedoman Media Siber | Kontak | © 2024 {SITE_NAME}. Hak cipta dilindungi.</p>
</footer>
</body>
</html>
"""
    return html.encode("utf-8")


def render_feed(stories: list[Story], base_url: str) -> bytes:
    """An RSS 2.0 feed carrying only each story's teaser, as most Indonesian portals publish."""
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{base_url}{s.path}</link>"
        f'<guid isPermaLink="false">{s.slug}</guid><pubDate>{s.pub_date}</pubDate>'
        f"<description>{escape(s.teaser)}</description></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{SITE_NAME}</title><link>{base_url}/</link>"
        f"<description>Berita Jawa Tengah</description>{items}</channel></rss>"
    ).encode()


class NewsSite:
    """Serves the teaser feed at /rss and each published story's page at /berita/<slug>."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.stories: list[Story] = []
        self.feed_route = server.route("/rss", body=render_feed([], server.url("")))

    @property
    def feed_url(self) -> str:
        return self.server.url("/rss")

    def publish(self, *stories: Story) -> None:
        """Add stories to the feed (newest first) and serve their pages."""
        for story in stories:
            self.stories.insert(0, story)
            self.server.route(story.path, body=render_page(story), content_type="text/html; charset=utf-8")
        self.feed_route.body = render_feed(self.stories, self.server.url(""))

    def page_hits(self) -> dict[str, int]:
        return {story.slug: self.server.hits[story.path] for story in self.stories}
