"""Named regions (Solo Raya, Jabodetabek, …) as data, and words of a multi-word name never read alone."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.subscriptions.query import parse_query, suggest
from bot.subscriptions.regions import region_groups, resolve_region

SOLO_RAYA = {"33.72", "33.09", "33.11", "33.13", "33.12", "33.14", "33.10"}


def test_every_region_member_is_one_known_place() -> None:
    groups = region_groups()  # loading checks each member names exactly one Kab/Kota or province
    assert len(groups) >= 9
    for group in groups:
        assert len(group.members) == len(set(group.members)) >= 3, group.name
        assert all(not name.startswith(("3", "1")) for name in group.member_names)


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("Solo Raya", "Solo Raya"),
        ("solo raya", "Solo Raya"),
        ("Soloraya", "Solo Raya"),
        ("SOLO-RAYA", "Solo Raya"),
        ("Subosukawonosraten", "Solo Raya"),
        ("Jabodetabek", "Jabodetabek"),
        ("Gerbangkertosusila", "Gerbangkertosusila"),
        ("Bandung Raya", "Bandung Raya"),
        ("Kedungsepur", "Kedungsepur"),
        ("Barlingmascakeb", "Barlingmascakeb"),
        ("Sarbagita", "Sarbagita"),
        ("Mebidangro", "Mebidangro"),
        ("Mamminasata", "Mamminasata"),
    ],
)
def test_the_regions_people_name(typed: str, region: str) -> None:
    found = resolve_region(typed)
    assert found is not None and found.name == region


def test_solo_raya_subscribes_to_its_seven_kab_kota_not_simalungun() -> None:
    parsed = parse_query("solo raya kebakaran")
    assert parsed.filter.area_codes == SOLO_RAYA
    assert parsed.filter.cases == {"kebakaran"}
    assert any("Kabupaten Klaten" in note for note in parsed.notes)
    assert parse_query("Soloraya").filter.area_codes == SOLO_RAYA
    jabodetabek = parse_query("Jabodetabek banjir").filter.area_codes
    assert "31" in jabodetabek and "32.76" in jabodetabek  # all of DKI Jakarta, and Kota Depok


@pytest.mark.parametrize("typed", ["Surabaya barat", "Solo kota", "Bandung Raya Raya"])
def test_a_word_of_a_longer_name_is_not_read_alone_as_a_far_off_district(typed: str) -> None:
    with pytest.raises(InputError, match="tidak dikenal"):
        parse_query(typed)


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("Klaten Wedi", {"33.10"}),  # Wedi is a kecamatan in Klaten: the same place
        ("Kota Bandung", {"32.73"}),
        ("Jakarta Barat", {"31.73"}),
        ("Solo Bandung", {"33.72", "32.73", "32.04"}),  # two real places stay two places
    ],
)
def test_names_with_district_words_still_work(typed: str, codes: set[str]) -> None:
    assert parse_query(typed).filter.area_codes == codes


def test_suggestions_offer_the_region_first() -> None:
    assert suggest("Solorya")[0] in {"Soloraya", "Solo Raya"}
