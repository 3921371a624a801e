"""patching: pending (security) updates, package index age, running kernel, reboot."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.packages import PackageState, packages
from scanner.collectors.host.packages_kernel import KernelState, kernel
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.patching.pending_updates",
    title="Pending package updates and security updates",
    category=Category.PATCHING,
    applies_to=TargetKind.HOST,
    collector=packages,
    reports={
        "package_manager": "string",
        "pending_updates": "number",
        "pending_security_updates": "number",
        "security_updates": "list",
        # dnf/yum only (apt indexes carry no severity nor date): None elsewhere
        "pending_critical_advisories": "number",
        "pending_important_advisories": "number",
        "oldest_security_advisory_days": "number",
        "oldest_critical_advisory_days": "number",
        "oldest_important_advisory_days": "number",
    },
)
def pending_updates(state: PackageState) -> Iterator[Observation]:
    if state.unknown_reason is not None:
        yield Observation.unverified("packages", state.unknown_reason)
        return
    adv = state.advisories
    yield Observation.of(
        "packages",
        package_manager=state.package_manager,
        pending_updates=state.pending_updates,
        pending_security_updates=state.pending_security_updates,
        security_updates=state.security_updates,
        pending_critical_advisories=adv.critical if adv else None,
        pending_important_advisories=adv.important if adv else None,
        oldest_security_advisory_days=adv.oldest_days if adv else None,
        oldest_critical_advisory_days=adv.oldest_critical_days if adv else None,
        oldest_important_advisory_days=adv.oldest_important_days if adv else None,
    )


@check(
    "host.patching.index_age",
    title="Age of the local package index",
    category=Category.PATCHING,
    applies_to=TargetKind.HOST,
    collector=packages,
    reports={"package_manager": "string", "index_age_days": "number"},
)
def index_age(state: PackageState) -> Iterator[Observation]:
    if state.index_age_days is None:
        yield Observation.unverified(
            "package-index", state.unknown_reason or "package index age unknown"
        )
        return
    yield Observation.of(
        "package-index",
        package_manager=state.package_manager,
        index_age_days=state.index_age_days,
    )


@check(
    "host.patching.kernel",
    title="Running kernel is the newest installed; no reboot pending",
    category=Category.PATCHING,
    applies_to=TargetKind.HOST,
    collector=kernel,
    reports={
        "running_kernel": "string",
        "latest_kernel": "string",
        "kernel_current": "bool",
        "reboot_required": "bool",
    },
)
def kernel_state(state: KernelState) -> Iterator[Observation]:
    if state.container is not None:
        yield Observation.skipped(
            "kernel", f"runs in a {state.container} container: the kernel is the host's"
        )
        return
    yield Observation.of(
        "kernel",
        running_kernel=state.running,
        latest_kernel=state.latest,
        kernel_current=state.kernel_current,
        reboot_required=state.reboot_required,
    )
