"""host.storage.*: dm-crypt under data filesystems and swap, from captured and reconstructed
lsblk trees (tests/data/host.storage/<case>/, see each README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.host import storage as storage_checks
from scanner.baseline.loader import Baseline, load
from scanner.collectors.host.storage import (
    COLUMNS,
    LSBLK,
    DataFilesystem,
    SwapArea,
    SwapVerdict,
    data_filesystems,
    judge_swap,
    parse_crypttab,
    parse_lsblk,
    parse_proc_swaps,
    storage,
)
from scanner.errors import CommandNotFound, ObservationError, PrivilegeRequired, UnparsableOutput
from scanner.registry import Registry, checks_in
from scanner.transports.base import CommandResult
from tests.unit.host.command_cases import observe, replay, statuses, unused_commands

DATA = Path(__file__).resolve().parents[2] / "data" / "host.storage"
CASES = sorted(p.name for p in DATA.iterdir() if p.is_dir())
CHECKS = list(checks_in(storage_checks))
LSBLK_ARGV = (*LSBLK, COLUMNS)


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return load("iso27001-2022", Registry.installed())


def _text(case: str, name: str) -> str:
    return (DATA / case / name).read_text()


@pytest.mark.parametrize("case", CASES)
def test_case_observations_and_statuses(case: str, baseline: Baseline) -> None:
    expected = json.loads((DATA / case / "expected.json").read_text())
    transport = replay(DATA / case)
    assert observe(CHECKS, transport) == expected["observations"]
    assert unused_commands(transport) == set()
    assert statuses(CHECKS, baseline, replay(DATA / case)) == expected["statuses"]


def test_lvm_on_luks_tree() -> None:
    devices = parse_lsblk(_text("rocky9-lvm-on-luks", "lsblk.json"))
    assert [(d.name, d.type, d.encrypted) for d in devices] == [
        ("sda", "disk", False),
        ("sda1", "part", False),
        ("sda2", "part", False),
        ("luks-3b8e2f4c-91d7-4c1e-a6b0-7e5d4c3b2a19", "crypt", True),
        ("rl-root", "lvm", True),
        ("rl-swap", "lvm", True),
        ("rl-home", "lvm", True),
        ("sr0", "rom", False),
    ]
    assert [d.name for d in devices[4].chain] == [
        "sda",
        "sda2",
        "luks-3b8e2f4c-91d7-4c1e-a6b0-7e5d4c3b2a19",
    ]
    assert [f.primary_mountpoint for f in data_filesystems(devices)] == ["/", "/home"]


def test_unencrypted_data_disk() -> None:
    filesystems = data_filesystems(parse_lsblk(_text("unencrypted-data-disk", "lsblk.json")))
    assert filesystems == [
        DataFilesystem("/dev/mapper/dm_crypt-0", "ext4", ("/",), True, "dm_crypt-0"),
        DataFilesystem("/dev/sda1", "ext4", ("/var/lib/postgresql",), False, None),
    ]


def test_legacy_lsblk_strings_and_single_mountpoint() -> None:
    devices = parse_lsblk(_text("rhel8-legacy-lsblk-plain-lvm", "lsblk.json"))
    root = next(d for d in devices if d.name == "rhel-root")
    assert (root.path, root.kname, root.mountpoints, root.read_only) == (
        "/dev/mapper/rhel-root",
        "dm-0",
        ("/",),
        False,
    )
    assert next(d for d in devices if d.name == "vda1").path == "/dev/vda1"


def test_device_under_two_parents_needs_crypt_on_every_path() -> None:
    # One VG over a LUKS PV and a plain PV: the LV appears under both; half encrypted is not.
    lv = {
        "name": "vg-data",
        "kname": "dm-3",
        "type": "lvm",
        "fstype": "ext4",
        "mountpoints": ["/srv"],
    }
    doc = {
        "blockdevices": [
            {
                "name": "sda",
                "kname": "sda",
                "type": "disk",
                "children": [
                    {
                        "name": "c",
                        "kname": "dm-0",
                        "type": "crypt",
                        "fstype": "LVM2_member",
                        "children": [lv],
                    }
                ],
            },
            {
                "name": "sdb",
                "kname": "sdb",
                "type": "disk",
                "fstype": "LVM2_member",
                "children": [lv],
            },
        ]
    }
    filesystems = data_filesystems(parse_lsblk(json.dumps(doc)))
    assert [(f.primary_mountpoint, f.encrypted) for f in filesystems] == [("/srv", False)]


def test_bind_mounts_give_one_observation_named_by_shortest_mountpoint() -> None:
    doc = {
        "blockdevices": [
            {
                "name": "vdb",
                "kname": "vdb",
                "type": "disk",
                "fstype": "xfs",
                "mountpoints": ["/var/lib/kubelet/pods/x/volumes", "/var/lib/data", None],
                "ro": False,
            }
        ]
    }
    (fs,) = data_filesystems(parse_lsblk(json.dumps(doc)))
    assert fs.mountpoints == ("/var/lib/data", "/var/lib/kubelet/pods/x/volumes")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lsblk: /dev/sda: not a block device",
        '{"devices": []}',
        '{"blockdevices": [{"kname": "sda"}]}',
        '{"blockdevices": [{"name": "sda", "children": {"name": "sda1"}}]}',
        '{"blockdevices": [{"name": "sda", "mountpoints": "/"}]}',
    ],
)
def test_lsblk_garbage_is_unparsable(text: str) -> None:
    with pytest.raises(UnparsableOutput):
        parse_lsblk(text)


def test_proc_swaps() -> None:
    text = _text("ubuntu2404-luks-root-swap-crypt", "proc-swaps")
    assert parse_proc_swaps(text) == [
        SwapArea("/swap.img", "file"),
        SwapArea("/dev/dm-2", "partition"),
    ]
    assert parse_proc_swaps("Filename\tType\tSize\tUsed\tPriority\n/my\\040swap file 1 0 -2\n") == [
        SwapArea("/my swap", "file")
    ]
    with pytest.raises(UnparsableOutput):
        parse_proc_swaps("garbage\n")


def test_swap_verdicts() -> None:
    devices = parse_lsblk(_text("ubuntu2404-luks-root-swap-crypt", "lsblk.json"))
    assert judge_swap(SwapArea("/swap.img", "file"), devices) == SwapVerdict(
        "/swap.img", True, "file on /dev/mapper/ubuntu--vg-ubuntu--lv"
    )
    assert judge_swap(SwapArea("/dev/dm-2", "partition"), devices) == SwapVerdict(
        "/dev/dm-2", True, "dm-crypt"
    )
    assert judge_swap(SwapArea("/dev/mapper/cryptswap", "partition"), devices).encrypted is True
    assert judge_swap(SwapArea("/dev/sdz9", "partition"), devices) == SwapVerdict(
        "/dev/sdz9", None, "not in lsblk"
    )
    zram = parse_lsblk(_text("debian12-vm-container-plain-root", "lsblk.json"))
    assert judge_swap(SwapArea("/dev/zram0", "partition"), zram) == SwapVerdict(
        "/dev/zram0", True, "zram: compressed RAM, gone at power-off"
    )


def test_unresolvable_swap_is_unverified() -> None:
    transport = replay(DATA / "docker-overlay-root")
    swaps = "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1048572 0 -2\n"
    transport.answers[("cat", "--", "/proc/swaps")] = swaps
    (obs,) = storage_checks.swap_encryption.observe(storage.collect(transport))
    assert (
        obs.error == "cannot tell whether swap is encrypted: /swapfile (no block device holds it)"
    )


def test_crypttab() -> None:
    assert parse_crypttab(_text("ubuntu2404-luks-root-swap-crypt", "crypttab")) == (
        "dm_crypt-0",
        "cryptswap",
    )
    assert parse_crypttab("# none\n\n") == ()


def test_crypttab_unreadable_is_only_missing_evidence() -> None:
    transport = replay(DATA / "rocky9-lvm-on-luks")
    transport.answers[("cat", "--", "/etc/crypttab")] = CommandResult(
        ("cat",), 1, b"", b"cat: /etc/crypttab: Permission denied"
    )
    state = storage.collect(transport)
    assert state.crypttab is None
    assert [f.encrypted for f in state.filesystems] == [True, True]


def test_lsblk_missing() -> None:
    transport = replay(DATA / "rocky9-lvm-on-luks")
    transport.answers[LSBLK_ARGV] = CommandResult(
        LSBLK_ARGV, 127, b"", b"env: 'lsblk': No such file or directory"
    )
    with pytest.raises(CommandNotFound):
        storage.collect(transport)


def test_lsblk_failure() -> None:
    transport = replay(DATA / "rocky9-lvm-on-luks")
    transport.answers[LSBLK_ARGV] = CommandResult(
        LSBLK_ARGV, 1, b"", b"lsblk: failed to access sysfs directory: /sys/dev/block"
    )
    with pytest.raises(ObservationError, match="sysfs"):
        storage.collect(transport)


def test_proc_swaps_denied() -> None:
    transport = replay(DATA / "rocky9-lvm-on-luks")
    transport.answers[("cat", "--", "/proc/swaps")] = CommandResult(
        ("cat",), 1, b"", b"cat: /proc/swaps: Permission denied"
    )
    with pytest.raises(PrivilegeRequired):
        storage.collect(transport)


def test_checks_and_rules_registered(baseline: Baseline) -> None:
    assert sorted(c.id for c in CHECKS) == [
        "host.storage.filesystem_encryption",
        "host.storage.swap_encryption",
    ]
    assert {r.id: r.check_id for r in baseline.rules if r.id.startswith("HOST-STORAGE-")} == {
        "HOST-STORAGE-01": "host.storage.filesystem_encryption",
        "HOST-STORAGE-02": "host.storage.swap_encryption",
    }
