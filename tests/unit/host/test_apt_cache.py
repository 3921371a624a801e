"""The on-disk cache of parsed Packages files: what reads back is exactly what was kept, under
its own key only; anything damaged, foreign or unsafe is not used."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from scanner.collectors.host import apt_cache
from scanner.collectors.host.apt_policy import Offer, Offers, parse_packages

DIGEST = "ab" * 32
PACKAGES = b"""Package: bash
Version: 5.2.15-2+b2
Architecture: amd64

Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all

Package: tzdata
Version: 2025b-0+deb12u1
Architecture: all
"""


@pytest.fixture
def offers() -> Offers:
    parsed = parse_packages(PACKAGES, "amd64")
    assert isinstance(parsed, Offers)
    return parsed


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv(apt_cache.DIRECTORY, str(path))
    return path


def test_what_is_kept_reads_back_the_same(root: Path, offers: Offers) -> None:
    assert apt_cache.load(DIGEST, "amd64") is None
    apt_cache.store(DIGEST, "amd64", offers)
    back = apt_cache.load(DIGEST, "amd64")
    assert back is not None and dict(back) == dict(offers)
    assert back[("tzdata", "amd64")] == (
        Offer("2024a-0+deb12u1", False),
        Offer("2025b-0+deb12u1", False),
    )
    assert (root.stat().st_mode & 0o777, next(root.iterdir()).stat().st_mode & 0o777) == (
        0o700,
        0o600,
    )
    # another hash or architecture is another file
    assert apt_cache.load("cd" * 32, "amd64") is None
    assert apt_cache.load(DIGEST, "arm64") is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: doc.update(sha256="cd" * 32),  # an entry copied under another name
        lambda doc: doc.update(format=0),
        lambda doc: doc["names"].pop(),
        lambda doc: doc["versions"].__setitem__(0, 5),
        lambda doc: doc.update(several=[["tzdata", "amd64", []]]),
        lambda doc: doc.pop("arches"),
    ],
    ids=["other-key", "other-format", "short-column", "not-text", "no-versions", "no-column"],
)
def test_a_damaged_entry_is_not_used(root: Path, offers: Offers, damage: object) -> None:
    apt_cache.store(DIGEST, "amd64", offers)
    [path] = root.glob("apt-*.json")
    doc = orjson.loads(path.read_bytes())
    damage(doc)  # type: ignore[operator]
    path.write_bytes(orjson.dumps(doc))
    assert apt_cache.load(DIGEST, "amd64") is None


def test_truncated_entry_is_not_used(root: Path, offers: Offers) -> None:
    apt_cache.store(DIGEST, "amd64", offers)
    [path] = root.glob("apt-*.json")
    path.write_bytes(path.read_bytes()[:-10])
    assert apt_cache.load(DIGEST, "amd64") is None


def test_a_directory_others_can_write_is_not_used(
    root: Path, offers: Offers, caplog: pytest.LogCaptureFixture
) -> None:
    root.mkdir(mode=0o700)
    root.chmod(0o777)
    apt_cache.store(DIGEST, "amd64", offers)
    assert list(root.iterdir()) == []
    assert apt_cache.directory() is None
    assert apt_cache.load(DIGEST, "amd64") is None
    refusals = [r for r in caplog.records if "not using" in r.getMessage()]
    assert len(refusals) == 1  # said once, however many lookups


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory away")
def test_a_directory_of_another_user_is_not_used(root: Path, offers: Offers) -> None:
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    assert apt_cache.directory() is None
    apt_cache.store(DIGEST, "amd64", offers)
    assert list(root.iterdir()) == []


def test_the_switch_turns_it_off(
    root: Path, offers: Offers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(apt_cache.SWITCH, "0")
    apt_cache.store(DIGEST, "amd64", offers)
    assert not root.exists()
    assert apt_cache.load(DIGEST, "amd64") is None


def test_names_that_are_not_a_hash_or_an_architecture_are_not_kept(
    root: Path, offers: Offers
) -> None:
    apt_cache.store("../../etc/passwd", "amd64", offers)
    apt_cache.store(DIGEST, "../amd64", offers)
    assert list(root.iterdir()) == []


def test_only_the_most_recently_used_are_kept(root: Path, offers: Offers) -> None:
    digests = [f"{i:064x}" for i in range(apt_cache.KEEP + 3)]
    for age, digest in enumerate(digests):
        apt_cache.store(digest, "amd64", offers)
        path = next(root.glob(f"apt-{digest}-*"))
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    assert apt_cache.load(digests[0], "amd64") is None  # the oldest went first
    kept = sorted(root.glob("apt-*.json"))
    assert len(kept) == apt_cache.KEEP
    assert apt_cache.load(digests[-1], "amd64") is not None


KEY = "ef" * 64  # a BLAKE2b hash, as b2sum prints it


def packages(doc: object) -> list[object]:
    listed = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        raise TypeError("not a list of packages")
    return listed


def test_a_hosts_answers_read_back_by_kind_and_key(root: Path) -> None:
    assert apt_cache.load_answer("dpkg", KEY, packages) is None
    apt_cache.store_answer("dpkg", KEY, {"packages": [["bash", "amd64", "5.2.15-2+b2"]]})
    assert apt_cache.load_answer("dpkg", KEY, packages) == [["bash", "amd64", "5.2.15-2+b2"]]
    assert apt_cache.load_answer("aptconf", KEY, packages) is None  # another kind
    assert apt_cache.load_answer("dpkg", "12" * 64, packages) is None  # another key
    [path] = root.glob("dpkg-*.json")
    assert path.stat().st_mode & 0o777 == 0o600
    # one its check refuses (damaged, another shape) is not used
    path.write_bytes(orjson.dumps({"packages": "bash"}))
    assert apt_cache.load_answer("dpkg", KEY, packages) is None
    path.write_bytes(b"{")
    assert apt_cache.load_answer("dpkg", KEY, packages) is None


def test_answers_under_names_that_are_not_ours_are_not_kept(root: Path) -> None:
    apt_cache.store_answer("dpkg", "../../etc/passwd", {"packages": []})
    apt_cache.store_answer("../dpkg", KEY, {"packages": []})
    apt_cache.store_answer("other", KEY, {"packages": []})
    assert not root.exists() or list(root.iterdir()) == []


def test_answers_are_pruned_by_kind_and_never_push_out_a_parsed_index(
    root: Path, offers: Offers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apt_cache, "KEEP_ANSWERS", 3)
    apt_cache.store(DIGEST, "amd64", offers)
    apt_cache.store_answer("aptconf", KEY, {"native": "amd64"})
    keys = [f"{i:0128x}" for i in range(5)]
    for age, key in enumerate(keys):
        apt_cache.store_answer("dpkg", key, {"packages": []})
        os.utime(next(root.glob(f"dpkg-{key}*")), (1_000_000 + age, 1_000_000 + age))
    assert len(list(root.glob("dpkg-*.json"))) == 3
    assert apt_cache.load_answer("dpkg", keys[0], packages) is None  # the oldest went first
    assert apt_cache.load_answer("dpkg", keys[-1], packages) == []
    assert apt_cache.load(DIGEST, "amd64") is not None
    assert list(root.glob("aptconf-*.json"))
