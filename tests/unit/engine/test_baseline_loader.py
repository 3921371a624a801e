"""Bad baselines are refused before anything is scanned, as file:line: what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from checks.host import ssh
from scanner.baseline import loader
from scanner.errors import BaselineError
from scanner.model import Severity
from scanner.registry import Registry

REGISTRY = Registry.from_modules([ssh])

HEADER = """\
id: test-baseline
title: Test
version: "1"
"""

GOOD_RULE = """\
rules:
  - id: T-SSH-01
    title: no passwords
    check: host.ssh.effective_config
    severity: high
    expect:
      password_authentication: is_false
    controls: [ISO27001:2022/A.8.5]
"""


def write(tmp_path: Path, text: str, name: str = "b.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(path: Path) -> BaselineError:
    with pytest.raises(BaselineError) as info:
        loader.load(str(path), REGISTRY)
    return info.value


def test_good_baseline_loads(tmp_path: Path) -> None:
    b = loader.load(str(write(tmp_path, HEADER + GOOD_RULE)), REGISTRY)
    assert [r.id for r in b.rules] == ["T-SSH-01"]
    assert b.rules[0].severity is Severity.HIGH


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (HEADER + "rules: [\n", 5, "YAML syntax error"),
        (HEADER + "colour: blue\n" + GOOD_RULE, 4, "unknown baseline key 'colour'"),
        (
            HEADER + GOOD_RULE.replace("is_false", "{between: [1, 2]}"),
            10,
            "unknown operator 'between'",
        ),
        (
            HEADER + GOOD_RULE.replace("host.ssh.effective_config", "host.ssh.nope"),
            7,
            "unknown check",
        ),
        (
            HEADER + GOOD_RULE.replace("password_authentication", "passwd_auth"),
            10,
            "never reports 'passwd_auth'",
        ),
        (HEADER + GOOD_RULE.replace("is_false", "{lte: 3}"), 10, "is a bool, not a number"),
        (HEADER + GOOD_RULE.replace("is_false", "{eq: 'no'}"), 10, "is a bool, operand is string"),
        (HEADER + GOOD_RULE.replace("severity: high", "severity: urgent"), 8, "unknown severity"),
        (HEADER + GOOD_RULE.replace("A.8.5", "A.99.1"), 11, "unknown control id"),
        (
            HEADER + GOOD_RULE.replace("is_false", "{lte: {threshold: nope}}"),
            10,
            "unknown threshold",
        ),
        (
            HEADER + GOOD_RULE + GOOD_RULE.replace("rules:\n", ""),
            12,
            "duplicate rule id 'T-SSH-01'",
        ),
        (
            HEADER + GOOD_RULE.replace("    title: no passwords\n", ""),
            5,
            "missing required key 'title'",
        ),
        (HEADER + GOOD_RULE.replace("T-SSH-01", "t_ssh_1"), 5, "must look like"),
        (HEADER + "id: again\n" + GOOD_RULE, 4, "duplicate key 'id'"),
        (
            HEADER
            + GOOD_RULE.replace(
                "    expect:\n      password_authentication: is_false\n", "    expect: {}\n"
            ),
            9,
            "at least one condition",
        ),
        (HEADER + GOOD_RULE + "    hint: x\n", 12, "unknown rule key 'hint'"),
        ("- just\n- a list\n", 1, "must be a YAML mapping"),
        (
            HEADER + GOOD_RULE.replace("is_false", "!!python/object:os.system {}"),
            10,
            "YAML syntax error",
        ),
    ],
)
def test_bad_baselines_name_file_and_line(
    tmp_path: Path, body: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, body)
    err = refused(path)
    assert err.file == str(path)
    assert fragment in err.message
    assert err.line == line, str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_extends_overrides_thresholds_and_rules(tmp_path: Path) -> None:
    write(
        tmp_path,
        HEADER.replace("test-baseline", "parent")
        + "thresholds:\n  max_tries: 6\n"
        + GOOD_RULE
        + """\
  - id: T-SSH-02
    title: root login
    check: host.ssh.effective_config
    severity: medium
    expect:
      permit_root_login: {eq: "no"}
    controls: [ISO27001:2022/A.8.2]
""",
        "parent.yaml",
    )
    child = write(
        tmp_path,
        """\
        id: child
        title: Child
        version: "2"
        extends: parent.yaml
        thresholds:
          max_tries: 3
        disabled_rules: [T-SSH-02]
        rules:
          - id: T-SSH-01
            title: no passwords, critical here
            check: host.ssh.effective_config
            severity: critical
            expect:
              password_authentication: is_false
            controls: [ISO27001:2022/A.8.5]
        """,
        "child.yaml",
    )
    b = loader.load(str(child), REGISTRY)
    assert b.extends == ("parent",)
    assert b.thresholds["max_tries"] == 3
    assert [(r.id, r.severity) for r in b.rules] == [("T-SSH-01", Severity.CRITICAL)]


def test_extends_shipped_baseline_by_id(tmp_path: Path) -> None:
    child = write(tmp_path, HEADER + "extends: iso27001-2022\n")
    b = loader.load(str(child), Registry.installed())
    assert b.extends == ("iso27001-2022",)
    assert "HOST-SSH-01" in {r.id for r in b.rules}


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path, HEADER.replace("test-baseline", "a") + "extends: b.yaml\n" + GOOD_RULE, "a.yaml"
    )
    b = write(
        tmp_path, HEADER.replace("test-baseline", "b") + "extends: a.yaml\n" + GOOD_RULE, "b.yaml"
    )
    assert "cycle" in refused(b).message


def test_threshold_type_change_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        HEADER.replace("test-baseline", "p") + "thresholds:\n  n: 5\n" + GOOD_RULE,
        "p.yaml",
    )
    child = write(tmp_path, HEADER + "extends: p.yaml\nthresholds:\n  n: five\n")
    err = refused(child)
    assert err.line == 6 and "changes type" in err.message


def test_missing_file_and_unknown_id() -> None:
    with pytest.raises(Exception, match="no baseline 'nope'"):
        loader.load("nope", REGISTRY)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_bytes(b"id: \xff\xfe\n")
    assert "not UTF-8" in refused(path).message


def test_nca_baseline_cites_only_nca_frameworks() -> None:
    registry = Registry.installed()
    iso = loader.load("iso27001-2022", registry)
    nca = loader.load("nca-ecc-2024", registry)
    assert nca.extends == ("iso27001-2022",)
    assert nca.rules and {r.id for r in nca.rules} <= {r.id for r in iso.rules}
    for rule in nca.rules:
        assert rule.controls
        assert all(
            c.split(":")[0] in ("NCA-ECC", "NCA-ECC-1", "NCA-CSCC", "NCA-CCC", "NDMO", "PDPL")
            for c in rule.controls
        ), rule
    # A rule with no NCA mapping is left out, not cited against nothing.
    dropped = {r.id for r in iso.rules} - {r.id for r in nca.rules}
    for rule in iso.rules:
        if rule.id in dropped:
            assert not any(c.startswith(("NCA", "NDMO", "PDPL")) for c in rule.controls)


def test_coverage_lists_automated_and_uncovered_controls() -> None:
    b = loader.load("iso27001-2022", Registry.installed())
    report = {fw: (covered, uncovered) for fw, covered, uncovered in loader.coverage(b)}
    covered, uncovered = report["ISO27001:2022"]
    assert len(covered) + len(uncovered) == 93  # all of Annex A
    assert ("ISO27001:2022/A.8.5", "Secure authentication") in [(c, t) for c, t, _ in covered]
    assert ("ISO27001:2022/A.7.1", "Physical security perimeters") in uncovered


def test_unknown_framework_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "cite_frameworks: [NCA-XYZ]\n" + GOOD_RULE)
    err = refused(path)
    assert err.line == 4 and "unknown framework 'NCA-XYZ'" in err.message


def test_the_documented_organisation_baseline_validates() -> None:
    path = Path(__file__).parents[3] / "docs" / "examples" / "acme-prod.yaml"
    b = loader.load(str(path), Registry.installed())
    assert b.extends == ("iso27001-2022",)
    assert b.thresholds["dormant_days"] == 30
    assert b.thresholds["allowed_countries_confidential"] == ("SA", "AE")
    assert "HOST-SSH-04" not in {r.id for r in b.rules} and "ACME-SSH-01" in {r.id for r in b.rules}
