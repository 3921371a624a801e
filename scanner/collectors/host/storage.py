"""Which mounted filesystems and swap areas sit on dm-crypt (LUKS or plain).

``lsblk -J`` gives the block device tree as the kernel sees it now: a filesystem is
encrypted when a ``crypt`` device lies between it and the disk (disk > part > crypt >
lvm > filesystem, or disk > part > lvm > crypt). /proc/swaps says which swap is in use;
/etc/crypttab says which mappings are unlocked at boot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scanner.collectors import collector
from scanner.errors import ObservationError, PrivilegeRequired, UnparsableOutput
from scanner.transports.base import Command, Transport, read_command

COLUMNS = "NAME,KNAME,PATH,TYPE,FSTYPE,MOUNTPOINTS,SIZE,RO"
# util-linux < 2.37 lacks MOUNTPOINTS, < 2.33 lacks PATH (RHEL 8, Ubuntu 18.04).
LEGACY_COLUMNS = "NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,RO"
LSBLK = ["lsblk", "-J", "-b", "-o"]

# Not data: boot files, and the files a container runtime bind-mounts from the host disk.
NOT_DATA_MOUNTS = frozenset(
    {"/boot", "/boot/efi", "/efi", "[SWAP]", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
)
READ_ONLY_FSTYPES = frozenset({"squashfs", "iso9660", "udf", "erofs"})


@dataclass(frozen=True)
class BlockDevice:
    name: str  # "sda2", "luks-3f1c…", "rl-root"
    kname: str  # kernel name: "sda2", "dm-0"
    path: str  # "/dev/mapper/rl-root"
    type: str  # disk, part, crypt, lvm, raid1, loop, rom
    fstype: str | None
    mountpoints: tuple[str, ...]
    read_only: bool
    chain: tuple[BlockDevice, ...] = ()  # ancestors, disk first

    @property
    def crypt_name(self) -> str | None:
        """Name of the nearest dm-crypt mapping this device sits on (itself included)."""
        for dev in (self, *reversed(self.chain)):
            if dev.type == "crypt":
                return dev.name
        return None

    @property
    def encrypted(self) -> bool:
        return self.crypt_name is not None or any(d.fstype == "crypto_LUKS" for d in self.chain)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip() in ("1", "true")


def _node(raw: Any, chain: tuple[BlockDevice, ...]) -> BlockDevice:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise UnparsableOutput(f"lsblk JSON device without a name: {str(raw)[:80]!r}")
    name = raw["name"]
    kname = raw.get("kname") if isinstance(raw.get("kname"), str) else name
    dev_type = str(raw.get("type") or "")
    path = raw.get("path")
    if not isinstance(path, str):  # legacy lsblk: rebuild the path udev would give
        path = f"/dev/mapper/{name}" if dev_type in ("crypt", "lvm") else f"/dev/{kname}"
    # util-linux >= 2.37 lists every mountpoint (bind mounts too); older ones only one.
    points = (raw["mountpoints"] or []) if "mountpoints" in raw else [raw.get("mountpoint")]
    if not isinstance(points, list):
        raise UnparsableOutput(f"lsblk mountpoints of {name} is not a list")
    fstype = raw.get("fstype")
    return BlockDevice(
        name=name,
        kname=str(kname),
        path=path,
        type=dev_type,
        fstype=fstype if isinstance(fstype, str) and fstype else None,
        mountpoints=tuple(p for p in points if isinstance(p, str) and p),
        read_only=_flag(raw.get("ro")) or dev_type == "rom",
        chain=chain,
    )


def parse_lsblk(text: str) -> list[BlockDevice]:
    """Every device occurrence in ``lsblk -J`` with its ancestors.

    A device with several parents (LVM over two PVs, RAID) appears once under each;
    each occurrence is kept, so "encrypted" can require every path to cross dm-crypt.
    """
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UnparsableOutput(f"lsblk printed no JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("blockdevices"), list):
        raise UnparsableOutput("lsblk JSON has no 'blockdevices' list")
    found: list[BlockDevice] = []

    def walk(items: Any, chain: tuple[BlockDevice, ...]) -> None:
        if not isinstance(items, list):
            raise UnparsableOutput("lsblk JSON 'children' is not a list")
        for raw in items:
            node = _node(raw, chain)
            found.append(node)
            walk(raw.get("children", []), (*chain, node))

    walk(doc["blockdevices"], ())
    return found


@dataclass(frozen=True)
class DataFilesystem:
    device: str  # path of the device holding the filesystem
    fstype: str | None  # None when lsblk could not tell (no udev database in containers)
    mountpoints: tuple[str, ...]  # data mountpoints only, shortest first
    encrypted: bool
    crypt_name: str | None

    @property
    def primary_mountpoint(self) -> str:
        return self.mountpoints[0]


def data_filesystems(devices: list[BlockDevice]) -> list[DataFilesystem]:
    """Mounted, writable, block-backed filesystems other than /boot: where data lives."""
    by_kname: dict[str, list[BlockDevice]] = {}
    for dev in devices:
        by_kname.setdefault(dev.kname, []).append(dev)
    out: list[DataFilesystem] = []
    for occurrences in by_kname.values():
        first = occurrences[0]
        if first.read_only or first.fstype in READ_ONLY_FSTYPES or first.fstype == "swap":
            continue
        points = sorted(
            {p for p in first.mountpoints if p not in NOT_DATA_MOUNTS}, key=lambda p: (len(p), p)
        )
        if not points:
            continue
        encrypted = all(dev.encrypted for dev in occurrences)
        out.append(
            DataFilesystem(
                device=first.path,
                fstype=first.fstype,
                mountpoints=tuple(points),
                encrypted=encrypted,
                crypt_name=first.crypt_name if encrypted else None,
            )
        )
    return sorted(out, key=lambda f: f.primary_mountpoint)


@dataclass(frozen=True)
class SwapArea:
    filename: str  # as /proc/swaps shows it: "/dev/dm-1", "/swap.img"
    kind: str  # "partition" or "file"


def parse_proc_swaps(text: str) -> list[SwapArea]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Filename"):
        raise UnparsableOutput(f"/proc/swaps has no header: {text[:60]!r}")
    areas: list[SwapArea] = []
    for line in lines[1:]:
        words = line.split()
        if len(words) < 2:
            raise UnparsableOutput(f"unexpected /proc/swaps line: {line[:80]!r}")
        # The kernel escapes blanks in names as octal (\040).
        areas.append(SwapArea(words[0].replace("\\040", " ").replace("\\011", "\t"), words[1]))
    return areas


def parse_crypttab(text: str) -> tuple[str, ...]:
    """Mapping names in /etc/crypttab (first field of each entry)."""
    names = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            names.append(line.split()[0])
    return tuple(names)


@dataclass(frozen=True)
class SwapVerdict:
    filename: str
    encrypted: bool | None  # None: could not find what holds it
    why: str


def judge_swap(area: SwapArea, devices: list[BlockDevice]) -> SwapVerdict:
    """Whether one swap area's contents can outlive a power-off unencrypted."""
    if area.kind != "file":
        short = area.filename.removeprefix("/dev/").removeprefix("mapper/")
        matches = [d for d in devices if area.filename == d.path or short in (d.kname, d.name)]
        if not matches:
            return SwapVerdict(area.filename, None, "not in lsblk")
        if all(d.type == "disk" and d.kname.startswith("zram") for d in matches):
            return SwapVerdict(area.filename, True, "zram: compressed RAM, gone at power-off")
        encrypted = all(d.encrypted for d in matches)
        return SwapVerdict(area.filename, encrypted, "dm-crypt" if encrypted else "plain device")
    # A swap file is as encrypted as the filesystem holding it: the longest mountpoint prefix.
    best: tuple[int, list[BlockDevice]] = (-1, [])
    for dev in devices:
        for point in dev.mountpoints:
            prefix = point.rstrip("/") + "/"
            if area.filename.startswith(prefix):
                if len(point) > best[0]:
                    best = (len(point), [dev])
                elif len(point) == best[0]:
                    best[1].append(dev)
    if not best[1]:
        return SwapVerdict(area.filename, None, "no block device holds it")
    encrypted = all(d.encrypted for d in best[1])
    return SwapVerdict(area.filename, encrypted, "file on " + best[1][0].path)


@dataclass(frozen=True)
class StorageState:
    devices: tuple[BlockDevice, ...]
    filesystems: tuple[DataFilesystem, ...]
    swap: tuple[SwapVerdict, ...] | None  # None: /proc/swaps unreadable
    crypttab: tuple[str, ...] | None  # None: no /etc/crypttab (or unreadable)


LSBLK_ARGV = (*LSBLK, COLUMNS)
SWAPS = "/proc/swaps"
CRYPTTAB = "/etc/crypttab"


def _lsblk(transport: Transport) -> str:
    result = transport.run(LSBLK_ARGV)
    if not result.ok and "unknown column" in result.error_text:
        result = transport.run([*LSBLK, LEGACY_COLUMNS])
    if not result.ok:
        raise ObservationError(f"`lsblk -J` failed: {result.first_error_line()}")
    return result.text


@collector(
    "host.storage",
    "block devices, mounted filesystems, swap and dm-crypt mappings",
    commands=(Command(LSBLK_ARGV), read_command(SWAPS), read_command(CRYPTTAB)),
)
def storage(transport: Transport) -> StorageState:
    devices = parse_lsblk(_lsblk(transport))
    swaps_text = transport.read_file(SWAPS)
    swap = (
        None
        if swaps_text is None
        else tuple(judge_swap(area, devices) for area in parse_proc_swaps(swaps_text))
    )
    try:
        crypttab_text = transport.read_file(CRYPTTAB)
    except PrivilegeRequired:
        crypttab_text = None  # evidence only: no rule depends on it
    return StorageState(
        devices=tuple(devices),
        filesystems=tuple(data_filesystems(devices)),
        swap=swap,
        crypttab=None if crypttab_text is None else parse_crypttab(crypttab_text),
    )
