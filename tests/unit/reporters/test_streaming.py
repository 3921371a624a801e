"""Reporters stream. Over findings that can only be iterated and sized (the engine's spool)
each writes exactly what it writes over a list, in a few passes however big the estate, and
a report is written to its file (or standard output) without ever being whole in memory."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import ScanResult
from scanner.reporters import REPORTERS, STREAMS, echo_report, write_report, write_reports
from scanner.reporters.jsonstream import Streamed, dumps
from tests.support.findings import Spooled, spooled
from tests.unit.reporters import sample


def _nothing_at_all() -> ScanResult:
    result = sample.result([], notes=[])
    result.targets = []
    return result


SCANS: dict[str, Callable[[], ScanResult]] = {
    "sample": sample.result,
    "one finding": lambda: sample.result([sample.FAIL]),
    "no finding": lambda: sample.result([]),
    "nothing at all": _nothing_at_all,
}


def _estate(count: int) -> Spooled:
    return Spooled(lambda: sample.estate(count), count)


def _memory_peak(make: Callable[[], object]) -> int:
    """The most memory Python held at once while ``make`` ran, over what it held before."""
    gc.collect()
    tracemalloc.start()
    try:
        held = make()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del held
    return peak


@pytest.mark.parametrize("scan", sorted(SCANS))
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_a_spool_gives_the_report_a_list_gives(name: str, scan: str) -> None:
    expected = REPORTERS[name](SCANS[scan]())
    result, spool = spooled(SCANS[scan]())
    assert "".join(STREAMS[name](result)) == expected
    assert 1 <= spool.passes <= 3
    assert REPORTERS[name](spooled(SCANS[scan]())[0]) == expected


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_passes_are_few_and_do_not_grow_with_the_estate(name: str) -> None:
    passes = []
    for spool in (Spooled.of(list(sample.result().findings)), _estate(1), _estate(1500)):
        result, _ = spooled(sample.result([]), spool)
        for _chunk in STREAMS[name](result):
            pass
        passes.append(spool.passes)
    assert len(set(passes)) == 1 and passes[0] <= 3, passes


def test_streamed_json_is_what_json_dumps_writes() -> None:
    def document(items: Callable[[list[Any]], Any]) -> dict[str, Any]:
        return {
            "empty": items([]),
            "nested": [{"deep": items([{"a": [1, {"b": "é\n\u2028"}]}, 2, [], {}])}, []],
            "plain": {"x": [], "y": {}, "z": None},
            "after": items(["s"]),
        }

    expected = json.dumps(document(list), indent=2, ensure_ascii=False)
    assert "".join(dumps(document(lambda values: Streamed(iter(values))))) == expected


@pytest.mark.parametrize("name", ["csv", "junit", "sarif"])
def test_findings_out_of_order_are_refused_rather_than_misgrouped(name: str) -> None:
    shuffled = Spooled.of(list(reversed(list(sample.result().findings))))
    result, _ = spooled(sample.result(), shuffled)
    with pytest.raises(ValueError, match=r"out of Finding\.sort_key order"):
        REPORTERS[name](result)


def test_write_report_streams_into_the_file(tmp_path: Path) -> None:
    result, spool = spooled(sample.result())
    write_report("sarif", result, tmp_path / "s.sarif")
    assert (tmp_path / "s.sarif").read_bytes().decode() == REPORTERS["sarif"](sample.result())
    assert spool.passes == 2
    assert [p.name for p in tmp_path.iterdir()] == ["s.sarif"]  # no temporary file left


def test_a_report_failing_midway_leaves_every_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_result: ScanResult) -> Iterator[str]:
        yield "<!DOCTYPE html>\n"
        raise RuntimeError("boom")

    monkeypatch.setitem(STREAMS, "html", broken)
    (tmp_path / "r.html").write_text("the previous report")
    files = {"sarif": tmp_path / "s.sarif", "html": tmp_path / "r.html"}
    with pytest.raises(RuntimeError, match="boom"):
        write_reports(sample.result(), files)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert (tmp_path / "r.html").read_text() == "the previous report"


def test_echo_report_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = spooled(sample.result())
    echo_report("junit", result)
    assert capsys.readouterr().out == REPORTERS["junit"](sample.result())


def test_a_report_of_20000_findings_is_written_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "estate.csv"
    result, spool = spooled(sample.result([]), _estate(20_000))
    peak = _memory_peak(lambda: write_report("csv", result, path))
    size = path.stat().st_size
    assert len(path.read_bytes().splitlines()) == 1 + 20_000
    assert size > 5_000_000
    assert peak < size / 20, f"{peak:,} bytes held at once for a {size:,}-byte report"
    assert spool.passes == 1


@pytest.fixture(scope="module")
def held_findings() -> int:
    """What holding 2,000 of the estate's findings takes: a reporter must need far less."""
    return _memory_peak(lambda: list(sample.estate(2000)))


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_report_needs_less_memory_than_its_findings(
    name: str, tmp_path: Path, held_findings: int
) -> None:
    """Neither the findings nor the report text are held: the peak stays a fraction of the
    findings' own size (and so of the report's, which lists them)."""
    result, _ = spooled(sample.result([]), _estate(2000))
    peak = _memory_peak(lambda: write_report(name, result, tmp_path / f"report.{name}"))
    assert peak < held_findings / 2, f"{peak:,} bytes held; the findings take {held_findings:,}"


def test_the_json_codec_writes_what_the_standard_library_writes() -> None:
    from scanner import jsoncodec

    doc = {"a": [1, 2.5, None, True], "b": {}, "c": [], "d": "ش \u2028 </script> \x00", "e": 0.1}
    assert jsoncodec.indented(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert json.loads(jsoncodec.compact(doc)) == doc
    assert jsoncodec.loads(jsoncodec.compact(doc)) == doc
    huge = {"n": 2**70}  # past what orjson encodes: the standard library takes over
    assert jsoncodec.indented(huge) == json.dumps(huge, indent=2)
    assert json.loads(jsoncodec.compact(huge)) == huge
