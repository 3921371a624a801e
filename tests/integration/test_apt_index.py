"""Pending apt updates decided by souqscan from this machine's own index files, against what
its real apt lists (``apt list --upgradable``), and the fetch that makes it cheap: once per
process per file, checked against the host's own Release file, never planted by a host.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import lz4.frame
import pytest

from scanner.collectors.host import apt_cache, apt_index
from scanner.collectors.host.apt_policy import Unsupported
from scanner.collectors.host.packages_apt import AptUpdate, list_upgradable
from scanner.errors import OutputTooLarge
from scanner.transports.base import ENV_PREFIX, CommandResult
from scanner.transports.local import LocalTransport

pytestmark = pytest.mark.skipif(
    shutil.which("apt") is None or not any(Path("/var/lib/apt/lists").glob("*_Packages*")),
    reason="needs apt and a package index (Debian/Ubuntu with apt lists)",
)


class CountingTransport(LocalTransport):
    """This machine, with the commands it ran, and optionally its index files tampered with."""

    def __init__(
        self,
        *,
        tamper: bool = False,
        replace: bytes | None = None,
        updated: AptUpdate | None = None,
        journal: bool = False,
        parts: str | None = None,
        forge_status: bool = False,
        huge_status: bool = False,
    ) -> None:
        super().__init__()
        self.tamper = tamper
        self.replace = replace  # the whole of every index file, in place of its bytes
        self.updated = updated  # shown installed at its candidate version
        self.journal = journal  # dpkg shows a pending journal entry
        self.parts = parts  # apt-config names this directory of configuration files
        self.forge_status = forge_status  # its status file's bytes are not what it hashed
        self.huge_status = huge_status  # its status file is past the output cap
        self.sent: list[tuple[str, ...]] = []

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        words = tuple(argv[len(ENV_PREFIX) :])
        self.sent.append(words)
        result = super()._execute(argv, timeout)
        if self.tamper and words[0] == "dd":
            # what a hostile host sends in place of an index: valid framing, other bytes
            stdout = result.stdout[:-64] + b"\0" * 64 if len(result.stdout) > 64 else b"\0"
            return CommandResult(result.argv, result.exit_status, stdout, result.stderr)
        if self.replace is not None and words[0] == "dd":
            first = "skip=0" in words
            return CommandResult(result.argv, 0, self.replace if first else b"", b"")
        if self.huge_status and words == STATUS_READ:
            raise OutputTooLarge("`cat` printed more than 4 MiB")
        if self.forge_status and words == STATUS_READ:
            planted = b"\nPackage: planted\nStatus: install ok installed\nArchitecture: all\n"
            return CommandResult(result.argv, 0, result.stdout + planted + b"Version: 1\n", b"")
        if self.journal and words == apt_index.HASH_STATE:
            entry = b"3" * 128 + f"  {apt_index.DPKG_JOURNAL}/0001\n".encode()
            return CommandResult(result.argv, result.exit_status, result.stdout + entry, b"")
        if self.parts is not None and words == apt_index.APT_CONFIG:
            line = b'Dir::Etc::parts "apt.conf.d";\n'
            assert line in result.stdout
            stdout = result.stdout.replace(line, f'Dir::Etc::parts "{self.parts}";\n'.encode())
            return CommandResult(result.argv, result.exit_status, stdout, result.stderr)
        if self.updated is not None and words == apt_index.HASH_STATE:
            # its status file is another: it hashes otherwise
            status = f"  {apt_index.DPKG_STATUS}\n".encode()
            lines = [
                b"0" * 128 + status if line.endswith(status) else line
                for line in result.stdout.splitlines(keepends=True)
            ]
            assert any(line.startswith(b"0" * 128) for line in lines)
            return CommandResult(result.argv, result.exit_status, b"".join(lines), result.stderr)
        if self.updated is not None and words[0] == "dpkg-query":
            u = self.updated
            line = f"\t{u.name}\t{u.architecture}\t{u.installed}\n".encode()
            stdout = result.stdout.replace(
                line, line.replace(u.installed.encode(), u.candidate.encode())
            )
            assert stdout != result.stdout
            return CommandResult(result.argv, result.exit_status, stdout, result.stderr)
        return result


def listed(updates: list[AptUpdate]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(u.name, u.installed, u.candidate, u.origins) for u in updates}


@pytest.fixture(autouse=True)
def fresh_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt_index, "INDEXES", apt_index.Kept(apt_index.KEPT_INDEXES, lends=True))
    monkeypatch.setattr(apt_index, "UPDATES", apt_index.Kept(apt_index.KEPT_ANSWERS))
    monkeypatch.setattr(apt_index, "INSTALLED", apt_index.Kept(apt_index.KEPT_ANSWERS))
    monkeypatch.setattr(apt_index, "LISTED", apt_index.Kept(apt_index.KEPT_ANSWERS))
    monkeypatch.setattr(apt_index, "NATIVE", apt_index.Kept(apt_index.KEPT_ANSWERS))


def dd_reads(transport: CountingTransport) -> int:
    return sum(1 for words in transport.sent if words[0] == "dd")


def asked(transport: CountingTransport) -> set[str]:
    """Which of dpkg-query, apt-config and a read of dpkg's status file the host was sent."""
    sent = {"status" if words == STATUS_READ else words[0] for words in transport.sent}
    return sent & {"dpkg-query", "apt-config", "status"}


STATUS_READ = ("cat", "--", apt_index.DPKG_STATUS)


def test_the_index_decides_what_apt_lists() -> None:
    first = CountingTransport()
    try:
        computed = apt_index._computed(first)
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    assert listed(computed) == listed(list_upgradable(first))
    assert dd_reads(first) >= 1  # the index files came from this host
    # the next host holding the same files is answered without them
    second = CountingTransport()
    assert listed(apt_index._computed(second)) == listed(computed)
    assert dd_reads(second) == 0
    assert not any(words[0] == "apt" for words in second.sent)


def test_hosts_share_an_answer_only_when_they_have_the_same_packages() -> None:
    """The answer is kept by what it is computed from: another host of the same image gets
    it without computing, one with a package already updated gets its own."""
    try:
        computed = apt_index._computed(CountingTransport())
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    if not computed:
        pytest.skip("nothing is upgradable on this machine")
    updated = CountingTransport(updated=computed[0])
    assert listed(apt_index._computed(updated)) == listed(computed[1:])
    assert listed(apt_index._computed(CountingTransport())) == listed(computed)


def test_tampered_index_bytes_are_never_used_nor_kept() -> None:
    hostile = CountingTransport(tamper=True)
    with pytest.raises(Unsupported, match=r"does not match the SHA256|does not decompress"):
        apt_index._computed(hostile)
    # pending_updates then asks the host's apt, as for any host it cannot decide
    assert listed(apt_index.pending_updates(hostile)) == listed(list_upgradable(hostile))
    assert hostile.sent[-1][:2] == ("apt", "-o")
    honest = CountingTransport()
    assert listed(apt_index.pending_updates(honest)) == listed(list_upgradable(honest))
    assert dd_reads(honest) >= 1  # nothing the hostile host sent was kept


@pytest.mark.parametrize(
    "content",
    [
        b"Package: evil\n\nnot a stanza\n",  # the parse refuses it
        b"Package: \xff\xfe\nVersion: 1\nArchitecture: amd64\n",  # not UTF-8
    ],
)
def test_a_planted_index_is_refused_for_its_hash_even_when_it_does_not_parse(
    content: bytes,
) -> None:
    # Hashed while parsed: a file that fails both is named for the hash, never used or kept.
    names = [p.name for p in Path("/var/lib/apt/lists").glob("*_Packages*")]
    if not all(n.endswith(".lz4") for n in names):
        pytest.skip("this machine's apt lists are not lz4-compressed")
    planted = CountingTransport(replace=lz4.frame.compress(content))
    with pytest.raises(Unsupported, match=r"does not match the SHA256"):
        apt_index._computed(planted)
    assert dd_reads(planted) >= 1


def test_the_switch_asks_apt_on_every_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(apt_index.SWITCH, "0")
    transport = CountingTransport()
    apt_index.pending_updates(transport)
    assert [words[0] for words in transport.sent] == ["apt"]


def test_the_next_scan_is_answered_from_the_disk_cache(tmp_path: Path) -> None:
    """A new scan process (in-memory indexes gone) reads no index file from the host again:
    the parsed index kept on disk by its SHA256 answers it, with the same result."""
    try:
        computed = apt_index._computed(CountingTransport())
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    kept = sorted(Path(os.environ[apt_cache.DIRECTORY]).glob("apt-*.json"))
    assert kept, "nothing was kept on disk"
    fresh_indexes_now()
    again = CountingTransport()
    assert listed(apt_index._computed(again)) == listed(computed)
    assert dd_reads(again) == 0
    # a damaged entry is ignored: the host's file is fetched, and the entry written anew
    for path in kept:
        path.write_bytes(path.read_bytes()[:100])
    fresh_indexes_now()
    damaged = CountingTransport()
    assert listed(apt_index._computed(damaged)) == listed(computed)
    assert dd_reads(damaged) >= 1
    fresh_indexes_now()
    third = CountingTransport()
    assert listed(apt_index._computed(third)) == listed(computed)
    assert dd_reads(third) == 0  # from the entry written anew


def test_hosts_whose_files_hash_as_before_run_neither_dpkg_query_nor_apt_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed packages, read from the status file and checked against its hash, are
    kept for every host whose file hashes the same; apt-config's answer, the host's own
    output, for that host alone. In this scan and the next (from disk)."""
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "cache"))
    first = CountingTransport()
    try:
        computed = apt_index._computed(first)
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    assert asked(first) == {"status", "apt-config"}  # the file itself, not dpkg-query
    second = CountingTransport()
    assert listed(apt_index._computed(second)) == listed(computed)
    assert asked(second) == set()
    assert apt_index.FIRST_READS[0].argv == apt_index.HASH_STATE  # what second did send
    # Another host with the same files: the packages, which its hash vouches for, are kept
    # for it; apt-config's answer is not (another host could plant one under the hashes).
    other = CountingTransport()
    other.target = "ssh://other.example:22"
    assert listed(apt_index._computed(other)) == listed(computed)
    assert asked(other) == {"apt-config"}
    fresh_indexes_now()
    next_scan = CountingTransport()
    assert listed(apt_index._computed(next_scan)) == listed(computed)
    assert asked(next_scan) == set()
    # dpkg with a pending journal: dpkg-query would apply it, so it is asked (apt-config too)
    journal = CountingTransport(journal=True)
    assert listed(apt_index._computed(journal)) == listed(computed)
    assert asked(journal) == {"dpkg-query", "apt-config"}


def test_a_status_file_past_the_output_cap_is_dpkg_querys_to_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "cache"))
    try:
        computed = apt_index._computed(CountingTransport())
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    fresh_indexes_now()
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "other-cache"))
    huge = CountingTransport(huge_status=True)
    assert listed(apt_index._computed(huge)) == listed(computed)
    assert {"status", "dpkg-query"} <= asked(huge)


def test_status_bytes_that_do_not_hash_as_sent_are_never_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host whose status file's bytes are not what it hashed (it changed since, or the host
    plants packages for others with the same hash) is asked dpkg-query, and nothing is kept
    under the hash: the next host reads its own file."""
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "cache"))
    forged = CountingTransport(forge_status=True)
    try:
        computed = apt_index._computed(forged)
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    assert {"status", "dpkg-query"} <= asked(forged)
    assert not list((tmp_path / "cache").glob("dpkg-*.json"))
    honest = CountingTransport()
    honest.target = "ssh://honest.example:22"
    assert listed(apt_index._computed(honest)) == listed(computed)
    assert "status" in asked(honest)


def test_a_configuration_read_from_elsewhere_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apt reading its configuration files from another directory than the one hashed: the
    answer is used for that host, and not kept for the next."""
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "cache"))
    elsewhere = CountingTransport(parts="/srv/apt.conf.d")
    try:
        apt_index._computed(elsewhere)
    except Unsupported as exc:
        pytest.skip(f"this machine's apt is not one souqscan reproduces: {exc}")
    assert "apt-config" in asked(elsewhere)
    again = CountingTransport()
    apt_index._computed(again)
    assert asked(again) == {"apt-config"}  # the packages were kept, the configuration not
    fresh_indexes_now()
    assert list((tmp_path / "cache").glob("aptconf-*.json"))  # the second answer was kept
    assert len(list((tmp_path / "cache").glob("dpkg-*.json"))) == 1


def test_tampered_bytes_are_never_kept_on_disk() -> None:
    with pytest.raises(Unsupported):
        apt_index._computed(CountingTransport(tamper=True))
    assert not list(Path(os.environ[apt_cache.DIRECTORY]).glob("apt-*.json"))


def fresh_indexes_now() -> None:
    """As a new scan process starts: nothing in memory."""
    apt_index.INDEXES = apt_index.Kept(apt_index.KEPT_INDEXES, lends=True)
    apt_index.UPDATES = apt_index.Kept(apt_index.KEPT_ANSWERS)
    apt_index.INSTALLED = apt_index.Kept(apt_index.KEPT_ANSWERS)
    apt_index.LISTED = apt_index.Kept(apt_index.KEPT_ANSWERS)
    apt_index.NATIVE = apt_index.Kept(apt_index.KEPT_ANSWERS)
