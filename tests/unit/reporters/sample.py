"""A scan result built from real Finding, Rule and Baseline objects, as the engine makes them.

It holds every status, a hostile target and resource (markup, an attribute quote, a
spreadsheet formula, control characters, a 100,000-character message), an Arabic
resource name, and residency findings across countries and classifications.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from scanner.baseline.loader import Baseline
from scanner.baseline.rules import Condition, Rule
from scanner.engine import ScanResult
from scanner.model import Finding, Severity, Status, Value

STARTED = 1_795_000_000.0  # 2026-11-18T11:06:40Z
DURATION = 12.3456

HOSTILE_RESOURCE = "<script>alert(1)</script>"
HOSTILE_TARGET = 'evil" onmouseover="alert(2)'
ARABIC = "خادم-الرياض"
FORMULA = '=HYPERLINK("http://x","y")'
HUGE = "A" * 100_000
CONTROL = "bell\x07 escape\x1b[31m nul\x00 end"

RULES = (
    Rule(
        "HOST-SSH-01",
        "SSH password authentication is disabled",
        "host.ssh.effective_config",
        Severity.HIGH,
        (Condition("password_authentication", "is_false"),),
        controls=("ISO27001:2022/A.8.5", "NCA-ECC:2-2-3"),
        rationale="Passwords can be guessed or phished; keys bound to a person cannot.",
        remediation="Set `PasswordAuthentication no` and reload sshd.",
    ),
    Rule(
        "HOST-SSH-02",
        "SSH root login is not permitted",
        "host.ssh.effective_config",
        Severity.CRITICAL,
        (Condition("permit_root_login", "eq", "no"),),
        controls=("ISO27001:2022/A.8.2",),
        rationale="Administrative access must be traceable to a person.",
        remediation="Set `PermitRootLogin no`.",
    ),
    Rule(
        "HOST-FW-01",
        "A default-deny inbound firewall is active",
        "host.firewall.policy",
        Severity.MEDIUM,
        (Condition("default_deny", "is_true"),),
        controls=("ISO27001:2022/A.8.20",),
        rationale="Only what is allowed may reach the host.",
        remediation="Enable nftables with a drop policy.",
    ),
    Rule(
        "HOST-LOG-01",
        "Logs are kept long enough",
        "host.logging.retention",
        Severity.LOW,
        (Condition("retention_days", "gte", 365),),
        controls=("ISO27001:2022/A.8.15",),
        rationale="Investigations need a year of logs.",
        remediation="Keep a year of logs.",
    ),
    Rule(
        "RES-HOST-01",
        "Hosts holding regulated data run in Saudi Arabia",
        "host.residency.site",
        Severity.CRITICAL,
        (Condition("country", "in", ("SA",)),),
        controls=("ISO27001:2022/A.5.31", "NCA-ECC-1:4-2-3-3"),
        rationale="Regulated data stays in the Kingdom.",
        remediation="Declare the host's country or move the data.",
    ),
    Rule(
        "HOST-IDS-01",
        "An intrusion detection tool runs",
        "host.ids.present",
        Severity.INFO,
        (Condition("running", "is_true"),),
        rationale="Someone should notice.",
        remediation="Install AIDE or auditd.",
    ),
)
# The category each sample rule's check declares.
CATEGORY = {
    "host.ssh.effective_config": "encryption_in_transit",
    "host.firewall.policy": "firewall",
    "host.logging.retention": "logging",
    "host.residency.site": "residency",
    "host.ids.present": "ids",
}
BASELINE = Baseline(id="iso27001-2022", title="Test baseline", version="2026.11", rules=RULES)


def finding(
    rule_id: str,
    status: Status,
    *,
    target: str = "web-1.souq.sa",
    resource: str = "sshd",
    message: str = "",
    evidence: Mapping[str, Value] | None = None,
    region: str | None = None,
    country: str | None = None,
    classification: str | None = None,
) -> Finding:
    rule = next(r for r in RULES if r.id == rule_id)
    category = CATEGORY[rule.check_id]
    return Finding(
        rule_id=rule.id,
        check_id=rule.check_id,
        category=category,
        status=status,
        severity=rule.severity,
        target=target,
        resource_id=resource,
        message=message or f"{status.name.lower()} message",
        controls=rule.controls,
        evidence=evidence or {},
        region=region,
        country=country,
        classification=classification,
        title=rule.title,
    )


FAIL = finding(
    "HOST-SSH-02",
    Status.FAIL,
    message="permit_root_login is yes, expected eq no",
    evidence={"permit_root_login": "yes"},
)
ERROR = finding(
    "HOST-SSH-01",
    Status.ERROR,
    target="db-1.souq.sa",
    message="could not verify: sshd -T needs root (sudo -n: a password is required)",
)
# Two more ERRORs with one reason on one target: one notification in SARIF.
UNREACHABLE = [
    finding(rid, Status.ERROR, target="10.9.9.9", resource="10.9.9.9", message="unreachable")
    for rid in ("HOST-FW-01", "HOST-LOG-01")
]
WAIVED = finding(
    "HOST-FW-01",
    Status.WAIVED,
    resource="nftables",
    message="waived until 2027-01-31 by ops@souq.sa: migration to nft in Q1 "
    "(was: default_deny is false, expected is true)",
    evidence={"default_deny": False},
)
PASSED = finding(
    "HOST-SSH-01",
    Status.PASS,
    message="password_authentication is false",
    evidence={"password_authentication": False},
)
NOT_APPLICABLE = finding(
    "HOST-IDS-01", Status.NOT_APPLICABLE, message="no IDS expected on a bastion"
)
HOSTILE = finding(
    "HOST-LOG-01",
    Status.FAIL,
    target=HOSTILE_TARGET,
    resource=HOSTILE_RESOURCE,
    message=FORMULA + " " + CONTROL + " " + HUGE,
    evidence={"retention_days": 7, "files": ("=1+1", "@SUM(A1)", HOSTILE_RESOURCE)},
)
RESIDENCY = [
    finding(
        "RES-HOST-01",
        Status.PASS,
        target=ARABIC,
        resource="site",
        message="country is SA",
        evidence={"country": "SA"},
        country="SA",
        classification="regulated",
    ),
    finding(
        "RES-HOST-01",
        Status.FAIL,
        target="web-1.souq.sa",
        resource="site",
        message="country is AE, expected in [SA]",
        evidence={"country": "AE"},
        region="me-central-1",
        country="AE",
        classification="regulated",
    ),
    finding(
        "RES-HOST-01",
        Status.FAIL,
        target=HOSTILE_TARGET,
        resource="site",
        message="country is undeclared, expected in [SA]",
        evidence={"country": "undeclared"},
        classification="regulated",
    ),
]
FINDINGS = [FAIL, ERROR, *UNREACHABLE, WAIVED, PASSED, NOT_APPLICABLE, HOSTILE, *RESIDENCY]
TARGETS = sorted({f.target for f in FINDINGS} | {"empty.souq.sa"})


def result(findings: list[Finding] | None = None, notes: list[str] | None = None) -> ScanResult:
    """The sample, findings in engine order (the engine sorts them by target, rule, resource)."""
    chosen = FINDINGS if findings is None else findings
    return ScanResult(
        findings=sorted(chosen, key=Finding.sort_key),
        targets=list(TARGETS),
        baseline=BASELINE,
        started=STARTED,
        duration=DURATION,
        notes=["web-1.souq.sa: host key SHA256:abc accepted WITHOUT verification"]
        if notes is None
        else notes,
    )


def estate(count: int) -> Iterator[Finding]:
    """``count`` findings of a generated estate, made as they are read (as the engine's spool
    reads them back) and in its order: per host, every rule over 100 resources, every status."""
    rules = sorted(RULES, key=lambda r: r.id)
    made = 0
    for host in itertools.count():
        for rule in rules:
            for n in range(100):
                if made == count:
                    return
                yield Finding(
                    rule_id=rule.id,
                    check_id=rule.check_id,
                    category=CATEGORY[rule.check_id],
                    status=Status((made * 7 + n) % len(Status)),
                    severity=rule.severity,
                    target=f"host-{host:05d}.souq.sa",
                    resource_id=f"/srv/data/volume-{n:03d}",
                    message=f"observed value {made} differs from what the baseline expects",
                    controls=rule.controls,
                    evidence={"value": made},
                    region="me-central-1",
                    country=("SA", "AE", None)[n % 3],
                    classification=("regulated", None)[n % 2],
                    title=rule.title,
                )
                made += 1
