"""encryption_at_rest: data filesystems and swap on dm-crypt/LUKS."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.storage import StorageState, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.storage.filesystem_encryption",
    title="Data filesystems sit on dm-crypt/LUKS",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.HOST,
    collector=storage,
    reports={
        "encrypted": "bool",
        "device": "string",
        "fstype": "string",
        "mountpoints": "list",
        "crypt_mapping": "string",
        "in_crypttab": "bool",
    },
)
def filesystem_encryption(state: StorageState) -> Iterator[Observation]:
    if not state.filesystems:
        # An overlay root (containers) hides the disks: that is "cannot tell", not "none".
        yield Observation.unverified(
            "storage", "no block device behind any data filesystem: cannot tell (container?)"
        )
        return
    for fs in state.filesystems:
        in_crypttab = (
            None
            if fs.crypt_name is None or state.crypttab is None
            else fs.crypt_name in state.crypttab
        )
        yield Observation.of(
            f"mount:{fs.primary_mountpoint}",
            encrypted=fs.encrypted,
            device=fs.device,
            fstype=fs.fstype,
            mountpoints=fs.mountpoints,
            crypt_mapping=fs.crypt_name,
            in_crypttab=in_crypttab,
        )


@check(
    "host.storage.swap_encryption",
    title="Swap is encrypted or not persistent",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.HOST,
    collector=storage,
    reports={"swap_devices": "list", "unencrypted_swap": "list"},
)
def swap_encryption(state: StorageState) -> Iterator[Observation]:
    if state.swap is None:
        yield Observation.unverified(
            "swap", "/proc/swaps is missing: cannot tell what swap is used"
        )
        return
    unknown = [s for s in state.swap if s.encrypted is None]
    if unknown:
        names = ", ".join(f"{s.filename} ({s.why})" for s in unknown)
        yield Observation.unverified("swap", f"cannot tell whether swap is encrypted: {names}")
        return
    yield Observation.of(
        "swap",
        swap_devices=[s.filename for s in state.swap],
        unencrypted_swap=[s.filename for s in state.swap if not s.encrypted],
    )
