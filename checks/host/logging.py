"""logging: log collection, persistence, retention and forwarding (Policy §3, §6)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.logging import LoggingFacts, logging_facts
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.logging.collection",
    title="A log collector is running and keeps logs on disk",
    category=Category.LOGGING,
    applies_to=TargetKind.HOST,
    collector=logging_facts,
    reports={
        "running_collectors": "list",
        "persistent_collectors": "list",
        "journal_persistent": "bool",
        "forwarding": "bool",
        "forwarding_via": "list",
        "method": "string",
    },
)
def collection(facts: LoggingFacts) -> Iterator[Observation]:
    yield Observation.of(
        "logging",
        running_collectors=facts.running,
        persistent_collectors=facts.persistent,
        journal_persistent=facts.journal_persistent,
        forwarding=facts.forwarding,
        forwarding_via=facts.forwarding_via,
        method=facts.method,
    )


@check(
    "host.logging.retention",
    title="Local log retention in days",
    category=Category.LOGGING,
    applies_to=TargetKind.HOST,
    collector=logging_facts,
    reports={"retention_days": "number", "source": "string", "forwarding": "bool"},
)
def retention(facts: LoggingFacts) -> Iterator[Observation]:
    yield Observation.of(
        "logging",
        retention_days=facts.retention_days,
        source=facts.retention_source,
        forwarding=facts.forwarding,
    )
