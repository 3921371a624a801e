"""apt_index.Kept: a value computed once per key however many hosts ask at once, and a host
that waits for another's computation lends its place where the Kept says so."""

from __future__ import annotations

import threading

import pytest

from scanner import lending
from scanner.collectors.host.apt_index import Kept


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def lend(self) -> None:
        self.calls.append("lend")

    def reclaim(self) -> None:
        self.calls.append("reclaim")


def asked_while_computing(kept: Kept[str, str]) -> tuple[list[str], list[str], list[str]]:
    """The first host computes (until released); a second asks for the same key meanwhile.
    Returns what was computed, what each got and what the second host's lender was told."""
    computing, release = threading.Event(), threading.Event()
    computed: list[str] = []
    got: list[str] = []
    second = Recorder()

    def compute() -> str:
        computed.append("first")
        computing.set()
        assert release.wait(10)
        return "value"

    def first() -> None:
        with lending.lent_by(Recorder()):
            got.append(kept.get("index", compute))

    def again() -> str:
        computed.append("second")
        return "other"

    def later() -> None:
        with lending.lent_by(second):
            got.append(kept.get("index", again))

    threads = [threading.Thread(target=first), threading.Thread(target=later)]
    threads[0].start()
    assert computing.wait(10)
    threads[1].start()
    for _ in range(50):  # until the second host lends (if it ever does) while it waits
        if second.calls:
            break
        threads[1].join(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    return computed, got, second.calls


def test_a_host_waiting_for_an_index_lends_its_place_until_it_is_ready() -> None:
    computed, got, calls = asked_while_computing(Kept(4, lends=True))
    assert computed == ["first"]
    assert got == ["value", "value"]
    assert calls == ["lend", "reclaim"]


def test_a_kept_that_does_not_lend_only_waits() -> None:
    computed, got, calls = asked_while_computing(Kept(4))
    assert computed == ["first"]
    assert got == ["value", "value"]
    assert calls == []


def test_the_host_that_computes_lends_nothing_and_a_failure_is_not_kept() -> None:
    kept: Kept[str, str] = Kept(4, lends=True)
    recorder = Recorder()

    def broken() -> str:
        raise RuntimeError("cut short")

    with lending.lent_by(recorder):
        with pytest.raises(RuntimeError):
            kept.get("index", broken)
        assert kept.get("index", lambda: "value") == "value"  # the guard was let go
    assert recorder.calls == []
    assert kept.holds("index")
