"""Collector.of: a collector read by others (host.services by host.ids and host.logging), by the
prefetch replays and by the checks is computed once per transport, from a recorded host; only
results are kept, so a failure or a replay stopped for a command is tried again."""

from __future__ import annotations

from typing import Any

import pytest

from checks.host import logging as logging_checks
from scanner.collectors import Collector, Facts
from scanner.collectors.host import services
from scanner.collectors.prefetch import warm
from scanner.errors import ObservationError
from scanner.registry import checks_in
from scanner.transports.base import NotPrefetched, Transport
from tests.unit.host.host_case import CaseTransport, case_dirs, observe
from tests.unit.host.test_prefetch import BatchingCaseTransport

CHECKS = list(checks_in(logging_checks))  # all on host.logging, which reads host.services
CASE = next(c for c in case_dirs("host.logging") if c.name.startswith("debian12-nosystemd"))


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transports host.services computed its states on, once per computation that
    completed (a replay stops one short of a command it has not fetched yet)."""
    seen: list[str] = []
    real = services.query_services

    def counting(transport: Transport, specs: Any) -> services.ServiceStates:
        states = real(transport, specs)
        seen.append(transport.target)
        return states

    monkeypatch.setattr(services, "query_services", counting)
    return seen


@pytest.mark.parametrize("transport_type", [CaseTransport, BatchingCaseTransport])
def test_services_is_computed_once_however_many_collectors_read_it(
    transport_type: type[CaseTransport], queries: list[str]
) -> None:
    expected = observe(CaseTransport(CASE), CHECKS)
    queries.clear()
    transport = transport_type(CASE)
    warm(transport, [check.collector for check in CHECKS])  # replays, when it batches
    assert observe(transport, CHECKS) == expected
    assert Facts(transport).get(services.services).method == services.PROCESS_TABLE
    assert {c.collector.name for c in CHECKS} == {"host.logging"}
    assert queries == [transport.target]
    assert isinstance(transport.collected[services.services.name], services.ServiceStates)


def test_a_failure_or_a_stopped_replay_is_not_kept() -> None:
    outcomes: list[BaseException | str] = [
        NotPrefetched("a command"),
        ObservationError("cannot look"),
        "seen",
    ]
    calls: list[int] = []

    def collect(_transport: Transport) -> str:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    source: Collector[Transport, str] = Collector("test.flaky", collect)
    transport = CaseTransport(CASE)
    with pytest.raises(NotPrefetched):
        source.of(transport)
    with pytest.raises(ObservationError):
        source.of(transport)
    assert source.of(transport) == "seen"
    assert source.of(transport) == "seen"  # kept from here on
    assert len(calls) == 3
    assert CaseTransport(CASE).collected == {}  # per transport


def test_a_connection_without_a_memo_computes_each_time() -> None:
    calls: list[int] = []

    def collect(_connection: object) -> int:
        calls.append(1)
        return 7

    source: Collector[object, int] = Collector("test.plain", collect)
    connection = object()  # a cloud session keeps its own memo, not ``collected``
    assert (source.of(connection), source.of(connection)) == (7, 7)
    assert len(calls) == 2
