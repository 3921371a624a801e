"""host.patching.*: pending updates, index age, kernel and reboot, from captured and
reconstructed outputs (tests/data/host.packages/<case>/, see each README)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks.host import patching
from scanner.baseline.loader import Baseline, load
from scanner.collectors.host import apt_index
from scanner.collectors.host.common import detect_container, parse_os_release
from scanner.collectors.host.packages import packages, summarise_advisories
from scanner.collectors.host.packages_apt import (
    LIST_UPGRADABLE,
    PINNED,
    AptUpdate,
    parse_apt_upgradable,
    parse_mtimes,
)
from scanner.collectors.host.packages_dnf import (
    Advisory,
    package_name,
    parse_check_update,
    parse_updateinfo,
)
from scanner.collectors.host.packages_kernel import (
    NEEDS_RESTARTING,
    REBOOT_FLAG,
    InstalledKernel,
    judge_kernels,
    kernel,
    parse_dpkg_kernels,
    parse_rpm_kernels,
)
from scanner.collectors.host.packages_versions import compare_debian, compare_rpm_part
from scanner.errors import (
    CommandNotFound,
    ObservationError,
    PrivilegeRequired,
    UnparsableOutput,
)
from scanner.registry import Registry, checks_in
from scanner.transports.base import CommandResult
from tests.replay import ReplayTransport
from tests.unit.host.command_cases import observe, replay, statuses, unused_commands

DATA = Path(__file__).resolve().parents[2] / "data" / "host.packages"
CASES = sorted(p.name for p in DATA.iterdir() if p.is_dir())
CHECKS = list(checks_in(patching))
NOW = 1795872749  # the captured Debian 12 clock, reused by the reconstructed cases
FIND_APT = ("find", "/var/lib/apt/lists", "-maxdepth", "1", "-name", "*Release", "-printf", "%T@\n")


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return load("iso27001-2022", Registry.installed())


@pytest.fixture(autouse=True)
def apt_lists_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded apt cases hold apt's own listing: they replay that path (the one souqscan
    takes where it cannot decide from the index itself, tests/unit/host/test_apt_policy.py)."""
    monkeypatch.setenv(apt_index.SWITCH, "0")


def _result(argv: tuple[str, ...], status: int, out: str = "", err: str = "") -> CommandResult:
    return CommandResult(argv, status, out.encode(), err.encode())


def _with(case: str, **changes: CommandResult) -> ReplayTransport:
    """A case's recorded answers with some replaced, keyed by a short name of the command."""
    transport = replay(DATA / case)
    for result in changes.values():
        transport.answers[result.argv] = result
    return transport


def _text(case: str, name: str) -> str:
    return (DATA / case / name).read_text()


# --- every case, end to end: observations and verdicts exactly as recorded -----------------


@pytest.mark.parametrize("case", CASES)
def test_case_observations_and_statuses(case: str, baseline: Baseline) -> None:
    expected = json.loads((DATA / case / "expected.json").read_text())
    transport = replay(DATA / case)
    assert observe(CHECKS, transport) == expected["observations"]
    assert unused_commands(transport) == set()
    assert statuses(CHECKS, baseline, replay(DATA / case)) == expected["statuses"]


def test_missing_apt_index_is_error_never_zero_pending(baseline: Baseline) -> None:
    state = packages.collect(replay(DATA / "debian12-no-apt-lists"))
    assert state.pending_updates is None
    assert state.pending_security_updates is None
    assert state.index_age_days is None
    got = statuses(CHECKS, baseline, replay(DATA / "debian12-no-apt-lists"))
    assert got["HOST-PATCH-01"] == {"packages": "ERROR"}
    assert got["HOST-PATCH-02"] == {"package-index": "ERROR"}
    # what apt would have said, had we asked it: the false "nothing pending"
    assert (
        parse_apt_upgradable(
            _text("debian12-no-apt-lists", "apt-list-upgradable.not-consulted.txt")
        )
        == []
    )


# --- apt --------------------------------------------------------------------------------


def test_apt_list_captured_debian12() -> None:
    updates = parse_apt_upgradable(_text("debian12-security-pending", "apt-list-upgradable.txt"))
    assert len(updates) == 137
    assert sum(u.security for u in updates) == 87
    by_name = {u.name: u for u in updates}
    assert by_name["liblzma5"] == AptUpdate(
        "liblzma5", "5.4.1-1", "5.4.1-1+deb12u2", "amd64", ("oldstable-security",)
    )
    assert by_name["libgcrypt20"].origins == ("oldstable", "oldstable-security")
    assert by_name["libgcrypt20"].security is True
    assert by_name["base-files"] == AptUpdate(
        "base-files", "12.4+deb12u11", "12.4+deb12u15", "amd64", ("oldstable",)
    )
    assert by_name["base-files"].security is False
    assert by_name["tzdata"].architecture == "all"


def test_apt_list_empty_is_nothing_pending() -> None:
    assert parse_apt_upgradable(_text("debian12-up-to-date", "apt-list-upgradable.txt")) == []


# Reconstructed from apt's documented line format (Ubuntu 24.04 with i386 enabled): one
# package upgradable on two architectures, under the same name on both lines.
LIBC6_TWO_ARCHS = (
    "libc6/noble-updates,noble-security 2.39-0ubuntu8.4 amd64 [upgradable from: 2.39-0ubuntu8.3]\n"
    "libc6/noble-updates,noble-security 2.39-0ubuntu8.4 i386 [upgradable from: 2.39-0ubuntu8.3]\n"
)


def test_apt_list_ubuntu_pockets_epochs_and_multiarch() -> None:
    text = (
        "Listing...\n"
        f"{LIBC6_TWO_ARCHS}"
        "libpam0g/noble-updates 1.5.3-5ubuntu5.1 amd64 [upgradable from: 1.5.3-5ubuntu5]\n"
        "vim/noble-updates,noble-security 2:9.1.0016-1ubuntu7.5 amd64 "
        "[upgradable from: 2:9.1.0016-1ubuntu7.3]\n"
        "zoom/unknown 6.2.11.5069 amd64 [upgradable from: 6.1.1.443]\n"
    )
    updates = parse_apt_upgradable(text)
    assert [(u.name, u.architecture, u.security) for u in updates] == [
        ("libc6", "amd64", True),
        ("libc6", "i386", True),
        ("libpam0g", "amd64", False),
        ("vim", "amd64", True),
        ("zoom", "amd64", False),  # a repository whose Release names no suite
    ]
    assert updates[3] == AptUpdate(
        "vim",
        "2:9.1.0016-1ubuntu7.3",
        "2:9.1.0016-1ubuntu7.5",
        "amd64",
        ("noble-updates", "noble-security"),
    )


def test_apt_multiarch_counts_each_architecture_names_the_package_once() -> None:
    listing = _result(tuple(LIST_UPGRADABLE), 0, f"Listing...\n{LIBC6_TWO_ARCHS}")
    state = packages.collect(_with("ubuntu2404-security-pending-reboot", list=listing))
    assert (state.pending_updates, state.security_updates) == (2, ("libc6",))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty or does not end with a newline"),
        ("Listing...", "empty or does not end with a newline"),
        # cut right after a whole line's "]": only the missing newline tells
        (
            "Listing...\nbash/stable 5.3 amd64 [upgradable from: 5.2]",
            "does not end with a newline",
        ),
        ("bash/stable 5.3 amd64 [upgradable from: 5.2]\n", "no 'Listing...' header"),
        ("\nListing...\n", "no 'Listing...' header"),
        ("Listing... 50%\rListing... Done\n", "no 'Listing...' header"),
        ("Listing...\nbash/stable 5.3 amd64 [upgradable from: 5.\n", "unexpected apt list"),
        ("Listing...\nbash/stable 5.3 amd64\n", "unexpected apt list"),  # a plain `apt list`
        ("Listing...\nbash/stable,now 5.2 amd64 [installed]\n", "unexpected apt list"),
        ("Listing...\nbash/stable 5.3 amd64 [upgradable from: 5.2] extra\n", "unexpected apt"),
        ("Listing...\nbash 5.3 amd64 [upgradable from: 5.2]\n", "unexpected apt list"),
        ("Listing...\nb\x1b[32mash/stable 5.3 amd64 [upgradable from: 5.2]\n", "unexpected"),
        ("Listing...\n\nbash/stable 5.3 amd64 [upgradable from: 5.2]\n", "unexpected apt"),
        ("Listing...\nE: The package lists or status file could not be parsed\n", "unexpected"),
        (
            "Listing...\n"
            "bash/stable 5.3 amd64 [upgradable from: 5.2]\n"
            "  GNU Bourne Again SHell\n",  # List-Include-Summary, had it not been pinned
            "unexpected apt list",
        ),
        (
            "Listing...\n"
            "bash/stable 5.3 amd64 [upgradable from: 5.2]\n"
            "bash/stable-security 5.3 amd64 [upgradable from: 5.2]\n",
            "bash:amd64 twice",
        ),
    ],
)
def test_apt_list_refuses_truncated_garbled_or_foreign_output(text: str, why: str) -> None:
    with pytest.raises(UnparsableOutput, match=why):
        parse_apt_upgradable(text)


def test_apt_list_crlf_tolerated() -> None:
    # What a pseudo-terminal makes of apt's newlines.
    text = "Listing...\r\nbash/stable-security 5.3 amd64 [upgradable from: 5.2]\r\n"
    assert [u.security for u in parse_apt_upgradable(text)] == [True]


def test_mtimes() -> None:
    assert parse_mtimes("1795871892.0000000000\n\n1783764997.5\n") == [1795871892.0, 1783764997.5]
    with pytest.raises(UnparsableOutput):
        parse_mtimes("find: weird\n")


# Captured on the Debian 12 machine: `apt list --upgradable` (pinned) over lists whose
# Packages files were overwritten with garbage.
BROKEN_APT_STDERR = (
    "E: LZ4F: /tmp/brokenlists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    ".lz4 Read error (18446744073709551603: ERROR_frameType_unknown)\n"
    "E: The package lists or status file could not be parsed or opened.\n"
)
# Captured likewise: what an apt that ignored the pinned Disable-Script-Warning prints.
SCRIPT_WARNING = (
    "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n"
)


def test_apt_failure_is_an_error_not_zero() -> None:
    failing = _result(tuple(LIST_UPGRADABLE), 100, err=BROKEN_APT_STDERR)
    with pytest.raises(ObservationError, match="LZ4F") as raised:
        packages.collect(_with("debian12-security-pending", list=failing))
    assert type(raised.value) is ObservationError
    # apt's own error, not its script warning, even when the warning comes first
    warned = _result(tuple(LIST_UPGRADABLE), 100, err=SCRIPT_WARNING + BROKEN_APT_STDERR)
    with pytest.raises(ObservationError, match="E: LZ4F"):
        packages.collect(_with("debian12-security-pending", list=warned))


def test_apt_script_warning_is_not_a_failure() -> None:
    listing = _text("debian12-security-pending", "apt-list-upgradable.txt")
    warned = _result(tuple(LIST_UPGRADABLE), 0, listing, err=SCRIPT_WARNING)
    state = packages.collect(_with("debian12-security-pending", list=warned))
    assert (state.pending_updates, state.pending_security_updates) == (137, 87)


def test_apt_garbled_listing_is_unparsable_not_fewer_updates() -> None:
    listing = _text("debian12-security-pending", "apt-list-upgradable.txt")
    # cut right after a line's "]", where only the missing newline betrays it
    cut = _result(tuple(LIST_UPGRADABLE), 0, listing[: listing.index("]", 1000) + 1])
    with pytest.raises(UnparsableOutput):
        packages.collect(_with("debian12-security-pending", list=cut))


def test_apt_list_is_read_only_and_pins_its_output_shape() -> None:
    options = [b for a, b in itertools.pairwise(LIST_UPGRADABLE) if a == "-o"]
    assert options == [f"{key}={value}" for key, value in PINNED]
    assert dict(PINNED)["APT::Cmd::Installed"] == "0"  # would override --upgradable
    # the only words that are not options: no update, upgrade or install
    assert [w for w in LIST_UPGRADABLE if w not in options and not w.startswith("-")] == [
        "apt",
        "list",
    ]


def test_apt_not_installed() -> None:
    missing = _result(tuple(LIST_UPGRADABLE), 127, err="env: 'apt': No such file or directory")
    with pytest.raises(CommandNotFound):
        packages.collect(_with("debian12-security-pending", list=missing))


def test_apt_lists_unreadable() -> None:
    denied = _result(FIND_APT, 1, err="find: '/var/lib/apt/lists': Permission denied")
    with pytest.raises(PrivilegeRequired):
        packages.collect(_with("debian12-security-pending", find=denied))


def test_garbage_clock() -> None:
    garbage = _result(("date", "+%s"), 0, "Sat Nov 28 12:00:00 UTC 2026\n")
    with pytest.raises(UnparsableOutput, match="date"):
        packages.collect(_with("debian12-security-pending", date=garbage))


def test_unknown_distribution_is_an_error() -> None:
    alpine = _result(
        ("cat", "--", "/etc/os-release"), 0, 'ID=alpine\nPRETTY_NAME="Alpine Linux v3.20"\n'
    )
    with pytest.raises(ObservationError, match=r"Alpine Linux v3\.20"):
        packages.collect(_with("debian12-security-pending", os=alpine))


# --- dnf / yum --------------------------------------------------------------------------


def test_updateinfo_verbose_rows() -> None:
    advisories = parse_updateinfo(
        _text("rocky9-critical-pending", "dnf-updateinfo-list-security.txt")
    )
    assert len(advisories) == 8
    assert advisories[1] == Advisory(
        "RLSA-2026:7012",
        "Critical",
        "firefox-128.5.0-1.el9_4.x86_64",
        datetime(2026, 10, 20, 9, 14, 22, tzinfo=UTC),
    )
    assert sorted({a.severity for a in advisories}) == ["Critical", "Important", "Moderate"]


def test_updateinfo_without_dates_gives_unknown_ages() -> None:
    text = "RHSA-2024:0001 Critical/Sec.  openssl-1.0.2k-26.el7_9.x86_64\n"
    advisories = parse_updateinfo(text)
    assert advisories == [
        Advisory("RHSA-2024:0001", "Critical", "openssl-1.0.2k-26.el7_9.x86_64", None)
    ]
    summary = summarise_advisories(advisories, NOW)
    assert (summary.critical, summary.important) == (1, 0)
    assert summary.oldest_critical_days is None  # unknown => ERROR, never a pass
    assert summary.oldest_important_days == 0.0  # none pending: nothing has waited


def test_updateinfo_refuses_unknown_security_row() -> None:
    with pytest.raises(UnparsableOutput):
        parse_updateinfo("RLSA-2026:1 Critical/Sec.\n")


def test_check_update_rows() -> None:
    names = parse_check_update(_text("rocky9-critical-pending", "dnf-check-update.txt"))
    assert len(names) == 10
    assert names[:3] == ["expat.x86_64", "firefox.x86_64", "kernel-core.x86_64"]


def test_check_update_wrapped_name_and_obsoletes() -> None:
    text = (
        "\n"
        "python3-some-very-long-package-name-that-wraps.noarch\n"
        "                                   1.2-3.el9     appstream\n"
        "bash.x86_64  5.1.8-9.el9  baseos\n"
        "Obsoleting Packages\n"
        "grub2-tools.x86_64  1:2.06-80.el9  baseos\n"
        "    grub2-tools.x86_64  1:2.06-70.el9  @baseos\n"
    )
    assert parse_check_update(text) == [
        "python3-some-very-long-package-name-that-wraps.noarch",
        "bash.x86_64",
    ]


def test_check_update_refuses_ragged_rows() -> None:
    with pytest.raises(UnparsableOutput):
        parse_check_update("bash.x86_64 5.1.8-9.el9\n")
    with pytest.raises(UnparsableOutput):
        parse_check_update("Error: something went wrong badly\n")


@pytest.mark.parametrize(
    ("nevra", "name"),
    [
        ("openssl-libs-1:3.0.7-25.el9_3.x86_64", "openssl-libs"),
        ("kernel-core-5.14.0-427.42.1.el9_4.x86_64", "kernel-core"),
        ("tzdata-2024b-2.el9.noarch", "tzdata"),
    ],
)
def test_package_name(nevra: str, name: str) -> None:
    assert package_name(nevra) == name


ROCKY_CHECK_UPDATE = ("dnf", "-q", "--cacheonly", "check-update")
ROCKY_UPDATEINFO = ("dnf", "-v", "--cacheonly", "updateinfo", "list", "--security")


def test_dnf_cache_missing_is_unverified() -> None:
    no_cache = _result(
        ROCKY_CHECK_UPDATE, 1, err="Error: Cache-only enabled but no cache for 'baseos'"
    )
    transport = _with("rocky9-critical-pending", cu=no_cache)
    state = packages.collect(transport)
    assert state.pending_updates is None
    assert state.unknown_reason == "dnf reports no usable cache; cannot tell what is pending"
    assert state.index_age_days == 1.5


def test_dnf_other_failure_raises() -> None:
    broken = _result(ROCKY_CHECK_UPDATE, 1, err="Error: rpmdb open failed")
    with pytest.raises(ObservationError, match="rpmdb open failed"):
        packages.collect(_with("rocky9-critical-pending", cu=broken))


def test_dnf_exit_status_must_match_rows() -> None:
    lying = _result(ROCKY_CHECK_UPDATE, 100, "\n")
    with pytest.raises(UnparsableOutput, match="listed none"):
        packages.collect(_with("rocky9-critical-pending", cu=lying))


def test_yum_fallback_when_dnf_missing() -> None:
    transport = _with(
        "rocky9-critical-pending",
        dnf=_result(ROCKY_CHECK_UPDATE, 127, err="env: 'dnf': No such file or directory"),
        cu=_result(("yum", "-q", "--cacheonly", "check-update"), 0, "\n"),
        ui=_result(("yum", "-v", "--cacheonly", "updateinfo", "list", "--security"), 0, ""),
    )
    state = packages.collect(transport)
    assert (state.package_manager, state.pending_updates, state.pending_security_updates) == (
        "yum",
        0,
        0,
    )
    assert state.advisories is not None
    assert state.advisories.oldest_critical_days == 0.0


# --- kernel and reboot ------------------------------------------------------------------


def test_dpkg_kernels_skip_meta_removed_and_unknown() -> None:
    kernels = parse_dpkg_kernels(
        _text("ubuntu2404-security-pending-reboot", "dpkg-query-linux-image.txt")
    )
    assert kernels == [
        InstalledKernel("6.8.0-45-generic", "6.8.0-45.45"),
        InstalledKernel("6.8.0-49-generic", "6.8.0-49.49"),
    ]


def test_rpm_kernels_dedupe_and_skip_not_installed() -> None:
    text = (
        "package kernel-core is not installed\n"
        "kernel 3.10.0 1160.119.1.el7 x86_64\n"
        "kernel 3.10.0 1160.80.1.el7 x86_64\n"
    )
    kernels = parse_rpm_kernels(text)
    assert [k.release for k in kernels] == [
        "3.10.0-1160.119.1.el7.x86_64",
        "3.10.0-1160.80.1.el7.x86_64",
    ]
    assert judge_kernels("3.10.0-1160.80.1.el7.x86_64", kernels, rpm=True) == (
        "3.10.0-1160.119.1.el7.x86_64",
        False,
    )


def test_kernel_not_from_a_package_is_unknown() -> None:
    installed = [InstalledKernel("6.1.0-18-amd64", "6.1.76-1")]
    assert judge_kernels("6.9.0-custom", installed, rpm=False) == ("6.1.0-18-amd64", None)
    assert judge_kernels("6.9.0-custom", [], rpm=False) == (None, None)


def test_kernel_tie_across_flavours_is_current() -> None:
    installed = [
        InstalledKernel("6.1.0-28-amd64", "6.1.119-1"),
        InstalledKernel("6.1.0-28-cloud-amd64", "6.1.119-1"),
        InstalledKernel("6.1.0-18-cloud-amd64", "6.1.76-1"),
    ]
    assert judge_kernels("6.1.0-28-cloud-amd64", installed, rpm=False) == (
        "6.1.0-28-cloud-amd64",
        True,
    )


def test_debian_current_kernel_without_flag_needs_no_reboot() -> None:
    transport = _with(
        "ubuntu2404-security-pending-reboot",
        uname=_result(("uname", "-r"), 0, "6.8.0-49-generic\n"),
        flag=_result(
            ("cat", "--", REBOOT_FLAG), 1, err=f"cat: {REBOOT_FLAG}: No such file or directory"
        ),
    )
    state = kernel.collect(transport)
    assert (state.latest, state.kernel_current, state.reboot_required) == (
        "6.8.0-49-generic",
        True,
        False,
    )


def test_needs_restarting_missing_falls_back_to_kernel() -> None:
    transport = _with(
        "rocky9-critical-pending",
        nr=_result(
            tuple(NEEDS_RESTARTING), 127, err="env: 'needs-restarting': No such file or directory"
        ),
    )
    state = kernel.collect(transport)
    assert (state.reboot_flag, state.kernel_current, state.reboot_required) == (None, False, True)


def test_garbage_uname() -> None:
    transport = _with("rocky9-critical-pending", uname=_result(("uname", "-r"), 0, "\n"))
    with pytest.raises(UnparsableOutput, match="uname"):
        kernel.collect(transport)


def test_container_marker_files_without_systemd_detect_virt() -> None:
    transport = ReplayTransport(
        {
            ("systemd-detect-virt", "--container"): CommandResult(
                ("systemd-detect-virt",),
                127,
                b"",
                b"env: 'systemd-detect-virt': No such file or directory",
            ),
            ("cat", "--", "/.dockerenv"): "",
        }
    )
    assert detect_container(transport) == "docker"


# --- versions and os-release ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0", "1.0~rc1", 1),
        ("1:0.9", "2.0", 1),
        ("6.1.76-1", "6.1.119-1", -1),
        ("1.0-1", "1.0-1", 0),
        ("1.0a", "1.0", 1),
        ("1.0", "1.0+b1", -1),
        ("1:2.66-4+deb12u2+b2", "1:2.66-4+deb12u3+b1", -1),
        ("6.8.0-45.45", "6.8.0-49.49", -1),
        ("1.0~~", "1.0~", -1),
        ("010", "10", 0),
    ],
)
def test_compare_debian(a: str, b: str, sign: int) -> None:
    result = compare_debian(a, b)
    assert (result > 0) - (result < 0) == sign
    reverse = compare_debian(b, a)
    assert (reverse > 0) - (reverse < 0) == -sign


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0", "1.0~rc1", 1),
        ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.0.1", -1),
        ("427.13.1.el9_4", "427.37.1.el9_4", -1),
        ("5.14.0", "5.14.0", 0),
        ("1.a", "1.1", -1),
        ("2.0", "2.0.1", -1),
        ("1.01", "1.1", 0),
        ("1160.119.1.el7", "1160.80.1.el7", 1),
    ],
)
def test_compare_rpm(a: str, b: str, sign: int) -> None:
    assert compare_rpm_part(a, b) == sign
    assert compare_rpm_part(b, a) == -sign


def test_os_release_quoting() -> None:
    os = parse_os_release(_text("rocky9-critical-pending", "os-release"))
    assert (os.id, os.id_like, os.version_id, os.pretty_name) == (
        "rocky",
        ("rhel", "centos", "fedora"),
        "9.4",
        "Rocky Linux 9.4 (Blue Onyx)",
    )
    assert os.is_like("rhel") and not os.is_like("debian")
    debian = parse_os_release(_text("debian12-security-pending", "os-release"))
    assert (debian.id, debian.id_like, debian.version_id) == ("debian", (), "12")


def test_checks_and_rules_registered(baseline: Baseline) -> None:
    assert sorted(c.id for c in CHECKS) == [
        "host.patching.index_age",
        "host.patching.kernel",
        "host.patching.pending_updates",
    ]
    assert {r.id: r.check_id for r in baseline.rules if r.id.startswith("HOST-PATCH-")} == {
        "HOST-PATCH-01": "host.patching.pending_updates",
        "HOST-PATCH-02": "host.patching.index_age",
        "HOST-PATCH-03": "host.patching.kernel",
        "HOST-PATCH-04": "host.patching.kernel",
        "HOST-PATCH-05": "host.patching.pending_updates",
        "HOST-PATCH-06": "host.patching.pending_updates",
    }
