"""patching: each VM's last patch assessment, read from its instance view."""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import located
from scanner.collectors.azure.compute import VmFacts, virtual_machines
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.compute.vm_patches",
    title="Virtual machine patch assessment (instance view)",
    category=Category.PATCHING,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=virtual_machines,
    reports={
        "assessment_status": "string",
        "assessed_days_ago": "number",
        "critical_security_pending": "number",
        "other_pending": "number",
        "reboot_pending": "bool",
    },
    empty_ok=True,
    classified=True,
)
def vm_patches(facts: VmFacts) -> Iterator[Observation]:
    for vm in facts.vms:
        if vm.error is not None:
            # No assessment (or a failed one) is unknown, never "nothing pending".
            yield Observation.unverified(vm.id, vm.error)
            continue
        yield located(
            vm.id,
            tags=vm.tags,
            tags_error=facts.tags_error,
            where=vm.location,
            assessment_status=vm.assessment_status,
            assessed_days_ago=vm.assessed_days_ago,
            critical_security_pending=vm.critical_security_pending,
            other_pending=vm.other_pending,
            reboot_pending=vm.reboot_pending,
        )
