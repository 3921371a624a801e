"""ids: Microsoft Defender for Cloud plans, Standard (on) or Free (off)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.azure.defender import Plan, pricings
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.defender.plan",
    title="Microsoft Defender for Cloud plan tier",
    category=Category.IDS,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=pricings,
    reports={"plan": "string", "tier": "string", "sub_plan": "string"},
)
def defender_plan(plans: tuple[Plan, ...]) -> Iterator[Observation]:
    for plan in plans:
        if plan.tier is None:
            yield Observation.unverified(plan.id, f"the pricings API did not return {plan.name}")
            continue
        yield Observation.of(plan.id, plan=plan.name, tier=plan.tier, sub_plan=plan.sub_plan or "")
