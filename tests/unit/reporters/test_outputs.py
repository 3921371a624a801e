"""--format / --output: one report on standard output or in a file, plus any number of
FORMAT=PATH reports, once per format; mistakes are usage errors before anything is scanned."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from scanner import cli_common
from scanner.cli_common import finish, parse_outputs, scan_options
from scanner.model import Severity
from scanner.reporters import REPORTERS, STREAMS
from tests.unit.reporters import sample

FORMATS = set(REPORTERS)
scanned: list[bool] = []


@click.command()
@scan_options
def fake_scan(
    baseline: str,
    fmt: str,
    output: Path | None,
    fail_on: Any,
    patterns: tuple[str, ...],
    concurrency: int,
) -> int:
    """Stands for host/scan: the options of every scanning command, then finish()."""
    scanned.append(True)
    return finish(sample.result(), fmt, output, fail_on)


@dataclass
class Run:
    result: Result
    scanned: bool
    files: dict[str, str]  # name -> content, as written (no newline translation)

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def stderr(self) -> str:
        return self.result.stderr


def invoke(tmp_path: Path, *args: str) -> Run:
    """The command run in an empty directory, with relative report paths as a user types."""
    scanned.clear()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(fake_scan, list(args), standalone_mode=False)
    finally:
        os.chdir(cwd)
    files = {p.name: p.read_bytes().decode() for p in tmp_path.iterdir() if p.is_file()}
    return Run(result, bool(scanned), files)


def test_parse_plain_and_named() -> None:
    plain, named = parse_outputs(["r.json", "sarif=s.sarif", "junit=j.xml"], FORMATS)
    assert plain == Path("r.json")
    assert named == {"sarif": Path("s.sarif"), "junit": Path("j.xml")}
    assert parse_outputs([], FORMATS) == (None, {})


def test_parse_a_path_that_only_looks_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    assert parse_outputs(["./sarif=x"], FORMATS) == (Path("sarif=x"), {})
    assert parse_outputs(["out/a=b.json"], FORMATS) == (Path("out/a=b.json"), {})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["sarf=x.sarif"], "unknown format 'sarf' in 'sarf=x.sarif'"),
        (["sarif="], "'sarif=': no file after '='"),
        (["sarif=a", "sarif=b"], "sarif is given twice (a and b)"),
        (["a.json", "b.json"], "2 plain paths (a.json, b.json): only one may take"),
        (["a.json", "html=a.json"], "two reports would be written to a.json"),
        (["html=/nonexistent-dir/r.html"], "directory /nonexistent-dir does not exist"),
        (["html=/tmp"], "/tmp is a directory"),
    ],
)
def test_parse_refuses(values: list[str], message: str) -> None:
    with pytest.raises(click.BadParameter) as err:
        parse_outputs(values, FORMATS)
    assert message in err.value.message


def test_default_prints_the_table(tmp_path: Path) -> None:
    run = invoke(tmp_path)
    assert run.scanned
    assert run.result.return_value == 1  # FAIL at or above --fail-on low
    assert run.stdout.startswith("== ")
    assert run.files == {}


def test_format_and_plain_output_keep_working(tmp_path: Path) -> None:
    run = invoke(tmp_path, "-f", "json", "-o", "r.json")
    files = run.files
    assert json.loads(files["r.json"])["tool"]["name"] == "souqscan"
    assert run.stdout == "3 ERROR, 4 FAIL, 1 WAIVED, 2 PASS, 1 N/A | 6 targets | 12.3s\n"
    assert run.stderr == "json report written to r.json\n"


def test_several_formats_in_one_run(tmp_path: Path) -> None:
    run = invoke(
        tmp_path, "-o", "sarif=s.sarif", "--output", "junit=j.xml", "-o", "html=r.html",
        "-o", "csv=f.csv",
    )  # fmt: skip
    files = run.files
    assert set(files) == {"s.sarif", "j.xml", "r.html", "f.csv"}
    report = sample.result()
    assert files["s.sarif"] == REPORTERS["sarif"](report)
    assert files["j.xml"] == REPORTERS["junit"](report)
    assert files["r.html"] == REPORTERS["html"](report)
    assert files["f.csv"] == REPORTERS["csv"](report)
    assert run.stdout == REPORTERS["table"](report)  # --format's report was not redirected
    assert run.stderr.splitlines() == [
        "csv report written to f.csv",
        "html report written to r.html",
        "junit report written to j.xml",
        "sarif report written to s.sarif",
    ]
    assert run.result.return_value == 1


def test_the_format_named_by_path_means_the_summary_on_stdout(tmp_path: Path) -> None:
    run = invoke(tmp_path, "-f", "sarif", "-o", "sarif=s.sarif", "-o", "junit=j.xml")
    assert set(run.files) == {"s.sarif", "j.xml"}
    assert run.stdout.startswith("3 ERROR, 4 FAIL")


@pytest.mark.parametrize(
    "args",
    [
        ["-f", "sarif", "-o", "a.sarif", "-o", "sarif=b.sarif"],
        ["-o", "sarif=b.sarif", "-o", "a.sarif", "-f", "sarif"],  # whatever the order
    ],
)
def test_one_format_to_two_files_is_refused_before_scanning(
    tmp_path: Path, args: list[str]
) -> None:
    run = invoke(tmp_path, *args)
    assert not run.scanned
    assert isinstance(run.result.exception, click.BadParameter)
    assert "the sarif report would go to both a.sarif and b.sarif" in str(run.result.exception)
    assert run.files == {}


def test_unknown_format_is_refused_before_scanning(tmp_path: Path) -> None:
    run = invoke(tmp_path, "-o", "pdf=r.pdf")
    assert not run.scanned
    assert isinstance(run.result.exception, click.BadParameter)


def test_a_failing_reporter_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_result: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(STREAMS, "html", broken)
    run = invoke(tmp_path, "-o", "sarif=s.sarif", "-o", "html=r.html")
    assert run.scanned
    assert isinstance(run.result.exception, RuntimeError)
    assert run.files == {}


def test_finish_without_a_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = finish(
        sample.result(), "json", None, Severity.CRITICAL,
        outputs={"junit": tmp_path / "j.xml"},
    )  # fmt: skip
    assert code == 1
    assert (tmp_path / "j.xml").read_text(encoding="utf-8").startswith("<?xml")
    assert json.loads(capsys.readouterr().out)["scan"]["baseline"]["id"] == "iso27001-2022"


def test_reports_get_the_mode_of_a_plain_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cli_common.write_atomically(tmp_path / "r.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o644
    (tmp_path / "r.html").chmod(0o600)
    cli_common.write_atomically(tmp_path / "r.html", "y")  # an existing file keeps its mode
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o600
    assert (tmp_path / "r.html").read_text() == "y"
