"""The article's link as weak evidence of place: a regional desk's province, only when the text names none."""

from __future__ import annotations

import pytest

from bot.classify import classify
from bot.classify import gazetteer as gaz
from bot.classify.links import link_region

NO_PLACE = "Dua Pria Ditangkap di Kamar Kos, Simpan Puluhan Paket Sabu"


@pytest.mark.parametrize(
    ("link", "province"),
    [
        ("https://jateng.inews.id/berita/dua-pria-ditangkap", "Jawa Tengah"),
        ("https://www.detik.com/jateng/berita/d-1/dua-pria-ditangkap", "Jawa Tengah"),
        ("https://www.detik.com/sulsel/berita/d-2/dua-pria-ditangkap", "Sulawesi Selatan"),
        # A town's desk gives its province, not the town: the Solo desk reports from all of Soloraya.
        ("https://solo.tribunnews.com/2025/02/12/dua-pria-ditangkap", "Jawa Tengah"),
        ("https://radarsolo.jawapos.com/2025/06/27/dua-pria-ditangkap", "Jawa Tengah"),
        ("https://makassar.kompas.com/read/2025/06/17/1/dua-pria-ditangkap", "Sulawesi Selatan"),
    ],
)
def test_a_regional_desk_gives_the_province_never_the_town(link: str, province: str) -> None:
    cls = classify(NO_PLACE, "", link=link)
    assert cls.city is None
    assert cls.province == province


@pytest.mark.parametrize(
    "link",
    [
        "https://metro.sindonews.com/read/1/170/dua-pria-ditangkap",  # the metropolitan desk, not Kota Metro
        "https://regional.kompas.com/read/2019/09/16/1/dua-pria-ditangkap",
        "https://megapolitan.kompas.com/read/2025/07/23/1/dua-pria-ditangkap",
        "https://www.detik.com/bekasi-kota-news",  # no section of its own
        "not a link",
        "http://[::1/broken",
        "",
    ],
)
def test_national_sections_and_bad_links_say_nothing(link: str) -> None:
    assert link_region(link, gaz.load()) is None
    cls = classify(NO_PLACE, "", link=link)
    assert cls.city is None and cls.province is None


def test_a_place_named_in_the_text_beats_the_desk() -> None:
    cls = classify("Kebakaran Pasar Klewer Solo, Puluhan Kios Hangus", "", link="https://www.detik.com/sulsel/berita/1")
    assert cls.city is not None and cls.city.name == "Kota Surakarta" and cls.province == "Jawa Tengah"
    # A province named in the text beats it too.
    cls = classify("Karhutla Kalteng Meluas, Helikopter Dikerahkan", "", link="https://www.detik.com/sulsel/berita/1")
    assert cls.province == "Kalimantan Tengah"
