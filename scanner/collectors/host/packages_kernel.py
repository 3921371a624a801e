"""Running kernel versus the newest installed kernel package, and whether a reboot is due."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.collectors import collector
from scanner.collectors.host.common import (
    CONTAINER_COMMAND,
    OS_RELEASE_COMMAND,
    detect_container,
    read_os_release,
)
from scanner.collectors.host.packages_versions import compare_debian, compare_rpm
from scanner.errors import CommandNotFound, ObservationError, UnparsableOutput
from scanner.transports.base import Command, Transport, read_command

DPKG_KERNELS = ["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n", "linux-image-*"]
# RHEL 8+ splits the kernel into kernel (meta) and kernel-core; RHEL 7 has only kernel.
RPM_KERNELS = [
    "rpm",
    "-q",
    "--qf",
    "%{NAME} %{VERSION} %{RELEASE} %{ARCH}\n",
    "kernel-core",
    "kernel",
]
REBOOT_FLAG = "/var/run/reboot-required"  # written by Debian/Ubuntu package hooks
NEEDS_RESTARTING = ["needs-restarting", "-r"]  # dnf-utils: exit 1 = reboot needed

# linux-image-6.1.0-18-amd64, linux-image-unsigned-6.8.0-31-generic; not the meta packages
# (linux-image-amd64, linux-image-generic) nor debug symbols.
_DEB_IMAGE = re.compile(r"^linux-image-(?:unsigned-)?(?P<release>\d\S*)$")


@dataclass(frozen=True)
class InstalledKernel:
    release: str  # as `uname -r` prints it
    version: str  # the package's version: what orders kernels
    release_field: str = ""  # rpm only: RELEASE, compared after VERSION


def parse_dpkg_kernels(text: str) -> list[InstalledKernel]:
    """``dpkg-query -W -f '${Package} ${Version} ${Status}'`` rows of installed kernel images."""
    found: list[InstalledKernel] = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) < 5:
            continue
        name, version, status = words[0], words[1], words[2:]
        match = _DEB_IMAGE.match(name)
        if match is None or name.endswith(("-dbg", "-dbgsym")):
            continue
        if status[-1] != "installed":  # "deinstall ok config-files": removed, config kept
            continue
        found.append(InstalledKernel(match.group("release"), version))
    return found


def parse_rpm_kernels(text: str) -> list[InstalledKernel]:
    """``rpm -q --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH}'``; "not installed" lines skipped."""
    found: dict[str, InstalledKernel] = {}
    for raw in text.splitlines():
        words = raw.split()
        if len(words) != 4 or words[0] not in ("kernel", "kernel-core"):
            continue  # "package kernel-core is not installed"
        _, version, release, arch = words
        uname = f"{version}-{release}.{arch}"
        found[uname] = InstalledKernel(uname, version, release)
    return list(found.values())


def newest(kernels: list[InstalledKernel], rpm: bool) -> InstalledKernel | None:
    best: InstalledKernel | None = None
    for kernel in kernels:
        if best is None or _compare(kernel, best, rpm) > 0:
            best = kernel
    return best


def _compare(a: InstalledKernel, b: InstalledKernel, rpm: bool) -> int:
    if rpm:
        return compare_rpm((a.version, a.release_field), (b.version, b.release_field))
    return compare_debian(a.version, b.version)


@dataclass(frozen=True)
class KernelState:
    running: str
    container: str | None  # the kernel belongs to the container's host
    installed: tuple[InstalledKernel, ...] = ()
    latest: str | None = None
    # True/False when a tool or flag file said so, None when nothing positive was found
    reboot_flag: bool | None = None
    kernel_current: bool | None = None

    @property
    def reboot_required(self) -> bool | None:
        if self.reboot_flag is not None:
            return self.reboot_flag
        if self.kernel_current is None:
            return None
        return not self.kernel_current


def judge_kernels(
    running: str, installed: list[InstalledKernel], rpm: bool
) -> tuple[str | None, bool | None]:
    """(newest installed release, whether the running one is at least as new).

    None for "current" when the running kernel is not an installed package (hand-built,
    or its package removed since boot): then no package version says how old it is.
    """
    best = newest(installed, rpm)
    if best is None:
        return None, None
    mine = next((k for k in installed if k.release == running), None)
    if mine is None:
        return best.release, None
    if _compare(mine, best, rpm) >= 0:
        return running, True  # a tie across flavours (-amd64, -cloud-amd64) is current
    return best.release, False


def _debian_reboot_flag(transport: Transport) -> bool | None:
    # Absence proves nothing: not every Debian install has the hooks that write it.
    return True if transport.read_file(REBOOT_FLAG) is not None else None


def _rpm_reboot_flag(transport: Transport) -> bool | None:
    try:
        result = transport.run(NEEDS_RESTARTING)
    except CommandNotFound:
        return None
    return {0: False, 1: True}.get(result.exit_status)


UNAME = ("uname", "-r")


@collector(
    "host.kernel",
    "running kernel versus the newest installed kernel package",
    commands=(CONTAINER_COMMAND, Command(UNAME), OS_RELEASE_COMMAND),
)
def kernel(transport: Transport) -> KernelState:
    container = detect_container(transport)
    uname = transport.run(UNAME)
    running = uname.text.strip()
    if not uname.ok or not running or len(running.split()) != 1:
        raise UnparsableOutput(f"`uname -r` printed {uname.text[:60]!r}")
    if container is not None:
        return KernelState(running, container)
    os = read_os_release(transport)
    if os is not None and os.is_like("debian", "ubuntu"):
        # The package list and the reboot flag do not depend on each other: one batch.
        transport.prefetch([Command(tuple(DPKG_KERNELS)), read_command(REBOOT_FLAG)])
        rows = transport.run(DPKG_KERNELS)
        installed, rpm = parse_dpkg_kernels(rows.text), False
        flag = _debian_reboot_flag(transport)
    elif os is not None and os.is_like("rhel", "fedora", "centos"):
        transport.prefetch([Command(tuple(RPM_KERNELS)), Command(tuple(NEEDS_RESTARTING))])
        rows = transport.run(RPM_KERNELS)
        installed, rpm = parse_rpm_kernels(rows.text), True
        flag = _rpm_reboot_flag(transport)
    else:
        name = os.pretty_name or os.id if os is not None else "a system without os-release"
        raise ObservationError(f"no kernel package database known for {name}")
    latest, current = judge_kernels(running, installed, rpm)
    return KernelState(running, None, tuple(installed), latest, flag, current)
