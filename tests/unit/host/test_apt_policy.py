"""apt's candidate versions as souqscan decides them from a host's index files: the parsers on
files captured on the Debian 12 machine (tests/data/apt-index), the policy on
the cases apt_preferences(5) describes. Against apt itself: tests/integration/test_apt_index.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scanner.collectors.host.apt_policy import (
    AUTOMATIC_UPGRADES_PRIORITY,
    DEFAULT_PRIORITY,
    NOT_AUTOMATIC_PRIORITY,
    Index,
    Installed,
    Offer,
    Release,
    Unsupported,
    _parse_stanzas,
    check_preferences,
    native_architecture,
    parse_apt_config,
    parse_installed,
    parse_packages,
    parse_release,
    parse_status,
    upgradable,
)
from scanner.errors import UnparsableOutput

DATA = Path(__file__).parents[2] / "data" / "apt-index"
PACKAGES = DATA / "bookworm-updates_main_binary-amd64_Packages"


def test_release_fields_and_hashes_from_a_captured_inrelease() -> None:
    release = parse_release((DATA / "bookworm-updates_InRelease").read_text().splitlines())
    assert (release.suite, release.priority) == ("oldstable-updates", DEFAULT_PRIORITY)
    digest = hashlib.sha256(PACKAGES.read_bytes()).hexdigest()
    assert release.sha256["main/binary-amd64/Packages"] == digest  # the file apt verified
    # MD5 (32 hex digits) and SHA512 lines are not taken for SHA256 ones
    assert all(len(h) == 64 for h in release.sha256.values())


@pytest.mark.parametrize(
    ("lines", "priority"),
    [
        (["Suite: bookworm-backports", "NotAutomatic: yes", "ButAutomaticUpgrades: yes"],
         AUTOMATIC_UPGRADES_PRIORITY),
        (["Suite: experimental", "NotAutomatic: yes"], NOT_AUTOMATIC_PRIORITY),
        (["Codename: noble-security"], DEFAULT_PRIORITY),
    ],
)  # fmt: skip
def test_release_priorities(lines: list[str], priority: int) -> None:
    release = parse_release(lines)
    assert release.priority == priority
    assert release.suite == lines[0].split(": ")[1]  # Suite, else Codename


def test_packages_fast_path_reads_what_the_stanza_parser_reads() -> None:
    data = PACKAGES.read_bytes()
    index = parse_packages(data, "amd64")
    assert index == _parse_stanzas(b"\n" + data.strip(), "amd64")
    assert len(index) == 38
    assert index[("tzdata", "amd64")] == (Offer("2025b-0+deb12u1", False),)  # all -> native


def test_packages_fast_path_ignores_blank_ends_and_keeps_every_version_of_a_name() -> None:
    stanza = b"Package: %s\nVersion: %s\nArchitecture: %s\n"
    data = b"\n \n" + stanza % (b"a", b"1", b"all") + b"\n" + stanza % (b"b", b"2", b"amd64")
    assert dict(parse_packages(data + b"\n\n\t", "amd64")) == {
        ("a", "amd64"): (Offer("1", False),),
        ("b", "amd64"): (Offer("2", False),),
    }
    twice = data + b"\n" + stanza % (b"a", b"3", b"all")
    assert parse_packages(twice, "amd64")[("a", "amd64")] == (Offer("1", False), Offer("3", False))
    assert dict(parse_packages(b" \n\n", "amd64")) == {}


def test_packages_odd_stanzas_take_the_slow_path_and_phased_updates_are_seen() -> None:
    data = (
        b"Package: a\nVersion: 1\nArchitecture: amd64\n\n\n\n"  # extra blank lines
        b"Architecture: all\nPackage: b\nVersion: 2\nPhased-Update-Percentage: 10\n"
    )
    assert parse_packages(data, "amd64") == {
        ("a", "amd64"): (Offer("1", False),),
        ("b", "amd64"): (Offer("2", True),),
    }
    with pytest.raises(UnparsableOutput, match="without Package"):
        parse_packages(b"Package: a\nArchitecture: amd64\n", "amd64")


def test_a_stanza_not_opening_with_its_package_takes_the_slow_path() -> None:
    """The fields' counts match (two of each), but the k-th Version is not the k-th stanza's:
    the first stanza has none, the second two. Counting the stanzas that open with Package
    sees it; the slow path refuses the file."""
    data = (
        b"Package: a\nArchitecture: amd64\n\n"
        b"Version: 9\nPackage: b\nVersion: 2\nArchitecture: amd64\n"
    )
    with pytest.raises(UnparsableOutput, match="without Package, Version or Architecture"):
        parse_packages(data, "amd64")
    # opening otherwise is read right, stanza by stanza
    reordered = b"Version: 1\nPackage: a\nArchitecture: amd64\n\nPackage: b\nVersion: 2\n"
    assert parse_packages(reordered + b"Architecture: all\n", "amd64") == {
        ("a", "amd64"): (Offer("1", False),),
        ("b", "amd64"): (Offer("2", False),),
    }


def test_a_status_file_reads_as_dpkg_query_lists_it() -> None:
    data = (
        b"Package: zsh\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.9-4\n"
        b"Description: a shell\n with a long description\n\n"
        b"Package: old\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\n"
        b"Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64\n\n"
        b"Package: libc6\nStatus: install ok half-configured\nArchitecture: i386\n"
        b"Version: 2.36-9\n\n"
        b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\n"
        b"Version: 5.2.15-2+b7\n"
    )
    listing = (
        "installed\tbash\tamd64\t5.2.15-2+b7\nhalf-configured\tlibc6\ti386\t2.36-9\n"
        "config-files\told\tamd64\t1.0\nnot-installed\tgone\tamd64\t\n"
        "installed\tzsh\tamd64\t5.9-4\n"
    )
    assert parse_status(data) == parse_installed(listing)  # by name, as dpkg-query lists
    with pytest.raises(UnparsableOutput, match="Status of 3 words"):
        parse_status(b"Package: a\nVersion: 1\n")


def test_installed_versions_in_the_states_apt_counts() -> None:
    text = (
        "installed\tbash\tamd64\t5.2.15-2+b7\n"
        "config-files\told\tamd64\t1.0\n"
        "half-configured\tlibc6\ti386\t2.36-9\n"
        "not-installed\tgone\tamd64\t\n"
    )
    assert parse_installed(text) == [
        Installed("bash", "amd64", "5.2.15-2+b7"),
        Installed("libc6", "i386", "2.36-9"),
    ]


def test_captured_apt_config_is_reproduced() -> None:
    config = parse_apt_config((DATA / "apt-config-dump.txt").read_text())
    assert native_architecture(config) == "amd64"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('APT::Default-Release "stable";', "Default-Release"),
        ('Dir::State::lists "/srv/lists/";', "Dir::State::lists"),
        ('APT::Get::Never-Include-Phased-Updates "true";', "Phased"),
    ],
)
def test_apt_config_not_reproduced(line: str, why: str) -> None:
    config = parse_apt_config(f'APT::Architecture "amd64";\n{line}\n')
    with pytest.raises(Unsupported, match=why):
        native_architecture(config)


INSTALLED = [Installed("nodejs", "amd64", "20.1"), Installed("bash", "amd64", "5.2")]


def test_pins_that_cannot_move_an_installed_package_are_harmless() -> None:
    pins = [
        "Package: nsolid\nPin: origin deb.nodesource.com\nPin-Priority: 600\n",  # not installed
        "Package: nodejs\nPin: origin deb.nodesource.com\nPin-Priority: 600\n",  # no such index
    ]
    check_preferences(pins, INSTALLED, {"deb.debian.org"})


@pytest.mark.parametrize(
    "pin",
    [
        "Package: nodejs\nPin: origin deb.nodesource.com\nPin-Priority: 600\n",
        "Package: bash\nPin: release a=stable\nPin-Priority: 1001\n",
        "Package: *\nPin: release a=bookworm-backports\nPin-Priority: 500\n",
        "Package: /^lib/\nPin: version 1.*\nPin-Priority: 990\n",
    ],
)
def test_pins_that_could_move_an_installed_package_are_apts_to_decide(pin: str) -> None:
    with pytest.raises(Unsupported, match="a pin on"):
        check_preferences([pin], INSTALLED, {"deb.debian.org", "deb.nodesource.com"})


MAIN = Release("stable", DEFAULT_PRIORITY, {})
SECURITY = Release("stable-security", DEFAULT_PRIORITY, {})
BACKPORTS = Release("stable-backports", AUTOMATIC_UPGRADES_PRIORITY, {})
EXPERIMENTAL = Release("experimental", NOT_AUTOMATIC_PRIORITY, {})


def offers(**versions: str) -> Index:
    return {(name, "amd64"): (Offer(v, False),) for name, v in versions.items()}


def candidates(
    installed: str, *indexes: tuple[Release, Index]
) -> list[tuple[str, tuple[str, ...]]]:
    package = Installed("pkg", "amd64", installed)
    return [(u.candidate, u.origins) for u in upgradable([package], indexes, "amd64")]


def test_newer_in_a_default_archive_is_the_candidate_with_every_suite_offering_it() -> None:
    assert candidates("1.0-1", (MAIN, offers(pkg="1.0-2")), (SECURITY, offers(pkg="1.0-2"))) == [
        ("1.0-2", ("stable", "stable-security"))
    ]


def test_no_downgrade_below_priority_1000() -> None:
    assert candidates("2.0-1", (MAIN, offers(pkg="1.0-1"))) == []


def test_backports_upgrade_only_what_came_from_backports() -> None:
    from_main = ((MAIN, offers(pkg="1.0-1")), (BACKPORTS, offers(pkg="2.0-1~bpo12+1")))
    assert candidates("1.0-1", *from_main) == []
    # installed from backports (main holds an older version): its newer backport is taken
    from_bpo = ((MAIN, offers(pkg="1.0-1")), (BACKPORTS, offers(pkg="2.0-2~bpo12+1")))
    assert candidates("2.0-1~bpo12+1", *from_bpo) == [("2.0-2~bpo12+1", ("stable-backports",))]
    # a point release newer than the backport wins on priority
    main_newer = ((MAIN, offers(pkg="3.0-1")), (BACKPORTS, offers(pkg="3.1-1~bpo12+1")))
    assert candidates("2.0-1~bpo12+1", *main_newer) == [("3.0-1", ("stable",))]


def test_experimental_is_never_a_candidate_for_an_installed_package() -> None:
    assert candidates("1.0-1", (MAIN, offers(pkg="1.0-1")), (EXPERIMENTAL, offers(pkg="9.0"))) == []


def test_dpkg_order_epochs_and_tildes() -> None:
    assert candidates("2.0", (MAIN, offers(pkg="1:1.0"))) == [("1:1.0", ("stable",))]
    assert candidates("1.0", (MAIN, offers(pkg="1.0~rc1"))) == []


def test_local_packages_and_architecture_all() -> None:
    local = upgradable([Installed("mine", "amd64", "1.0")], [(MAIN, offers(pkg="2.0"))], "amd64")
    assert local == []
    tz = upgradable(
        [Installed("tzdata", "all", "2025a-1")], [(MAIN, offers(tzdata="2025b-1"))], "amd64"
    )
    assert [(u.name, u.architecture, u.candidate) for u in tz] == [("tzdata", "all", "2025b-1")]


def test_a_phased_candidate_is_apts_to_decide() -> None:
    phased = {("pkg", "amd64"): (Offer("1.0-2", True),)}
    with pytest.raises(Unsupported, match="phased"):
        candidates("1.0-1", (MAIN, phased))
