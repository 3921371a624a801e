"""Prefetch over recorded host snapshots: the real collectors, warmed in batches, observe exactly
what they observe command by command, and no batch carries a command they would not send.

The batch here runs its entries one by one through the snapshot (the framing itself is tested
in tests/unit/transports/test_framing.py and over real sshd in test_host_batch.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from checks.host import ids as ids_checks
from checks.host import logging as logging_checks
from scanner.collectors.host.services import PROC_PIDS_ARGV
from scanner.collectors.prefetch import DISCOVERY_ROUNDS, warm
from scanner.errors import ObservationError
from scanner.registry import Check, checks_in
from scanner.transports.base import BatchEntry, CommandResult
from tests.unit.host.host_case import CaseTransport, case_dirs, observe


class BatchingCaseTransport(CaseTransport):
    batching = True
    bundling = False  # snapshots hold each file's cat: tar bundles are tested in test_bundle.py

    def __init__(self, case: Path) -> None:
        super().__init__(case)
        self.batches: list[list[tuple[str, ...]]] = []

    def _execute_batch(
        self, entries: Sequence[BatchEntry]
    ) -> Mapping[int, CommandResult | ObservationError]:
        self.batches.append([entry.command.argv for entry in entries])
        found: dict[int, CommandResult | ObservationError] = {}
        for index, entry in enumerate(entries):
            try:
                found[index] = self._execute(entry.argv, entry.timeout)
            except AssertionError:  # the snapshot never recorded it: left to run alone
                continue
            except ObservationError as exc:
                found[index] = exc
        return found


CASES = [
    (case, list(checks_in(module)))
    for module, name in ((ids_checks, "host.ids"), (logging_checks, "host.logging"))
    for case in case_dirs(name)
]


@pytest.mark.parametrize(("case", "checks"), CASES, ids=[c.name for c, _ in CASES])
def test_warmed_collectors_observe_the_same_and_nothing_extra_is_sent(
    case: Path, checks: list[Check[Any]]
) -> None:
    alone = CaseTransport(case)
    expected = observe(alone, checks)
    sent_alone = {tuple(words) for words in alone.calls}

    batched = BatchingCaseTransport(case)
    done = warm(batched, [check.collector for check in checks])
    warmed = len(batched.calls)
    assert observe(batched, checks) == expected
    # What a replay completed is what the collector computes from the same outputs.
    for source in {check.collector.name: check.collector for check in checks}.values():
        if source.name in done:
            assert done[source.name] == source.collect(batched), source.name
    in_batches = {argv for batch in batched.batches for argv in batch}
    # Every batched command is one the collectors send anyway: replay only names what the
    # real run sends next, from the same outputs. One exception, declared to save a host
    # without systemd a round trip: the PID listing, unused where systemd answers.
    assert in_batches - {PROC_PIDS_ARGV} <= sent_alone, in_batches - sent_alone
    # These collectors are shallow enough for the warm-up to fetch everything they read:
    # afterwards not one command goes out.
    assert batched.calls[warmed:] == []
    assert len(batched.batches) <= 1 + DISCOVERY_ROUNDS
