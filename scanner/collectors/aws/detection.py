"""Threat detection per region: GuardDuty detectors and Amazon Inspector (v2) status."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Json, Regional, per_region, text
from scanner.errors import UnparsableOutput

PERMISSIONS = (
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "inspector2:BatchGetAccountStatus",
)


@dataclass(frozen=True)
class GuardDuty:
    detectors: tuple[tuple[str, str], ...]  # (detector id, status: ENABLED | DISABLED)

    @property
    def enabled(self) -> bool:
        return any(status == "ENABLED" for _, status in self.detectors)


@dataclass(frozen=True)
class Inspector:
    status: str  # ENABLED, ENABLING, DISABLED, DISABLING, SUSPENDED, SUSPENDING
    ec2: str | None  # scan status of EC2 instances


def parse_inspector(account_id: str, raw: Json) -> Inspector:
    for row in raw.get("accounts") or []:
        if row.get("accountId") != account_id:
            continue
        state = text(row.get("state"), "status")
        if state is None:
            break
        ec2 = text((row.get("resourceState") or {}).get("ec2"), "status")
        return Inspector(state, ec2)
    failed = [f.get("errorMessage") for f in raw.get("failedAccounts") or []]
    raise UnparsableOutput(
        f"Inspector account status missing for {account_id} {failed or ''}".strip()
    )


@collector("aws.guardduty")
def guardduty(account: AwsAccount) -> Regional[GuardDuty]:
    """GuardDuty detectors and their status, per region."""

    def fetch(region: str) -> GuardDuty:
        ids = [str(d) for d in account.items("guardduty", region, "list_detectors", "DetectorIds")]
        found = []
        for detector in ids:
            answer = account.call("guardduty", region, "get_detector", DetectorId=detector) or {}
            found.append((detector, text(answer, "Status") or "UNKNOWN"))
        return GuardDuty(tuple(found))

    return account.once("aws.guardduty", lambda: per_region(account, fetch))


@collector("aws.inspector2")
def inspector(account: AwsAccount) -> Regional[Inspector]:
    """Amazon Inspector activation for this account, per region."""

    def fetch(region: str) -> Inspector:
        answer = account.call(
            "inspector2", region, "batch_get_account_status", accountIds=[account.account_id]
        )
        return parse_inspector(account.account_id, answer or {})

    return account.once("aws.inspector2", lambda: per_region(account, fetch))
