"""``souqscan azure`` end to end: the real azure-identity and azure-mgmt clients over HTTPS
to the fake ARM and authority on 127.0.0.1, exactly as a user runs it with a service
principal, a sovereign-style ARM endpoint, an authority host and a CA bundle."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.integration.azure import fake_arm, scenario
from tests.integration.azure.conftest import Run
from tests.integration.azure.fake_arm import FakeArm

EXPECTED = Path(__file__).resolve().parents[2] / "data" / "azure" / "planted" / "expected.txt"
TARGET = f"azure:{scenario.SUB}"
STANDARD_PLANS = [
    {
        "id": f"/subscriptions/{scenario.SUB}/providers/Microsoft.Security/pricings/{name}",
        "name": name,
        "type": "Microsoft.Security/pricings",
        "properties": {"pricingTier": "Standard"},
    }
    for name in ("VirtualMachines", "SqlServers", "StorageAccounts", "Containers")
]


def findings(run: Run) -> list[dict[str, Any]]:
    try:
        doc = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not a JSON report\n{run.explain()}") from None
    assert doc["scan"]["targets"] == [TARGET], run.explain()
    found: list[dict[str, Any]] = doc["findings"]
    return found


def table(run: Run) -> set[tuple[str, str, str]]:
    return {(f["rule_id"], f["resource_id"].rsplit("/", 1)[-1], f["status"]) for f in findings(run)}


def expected_table() -> set[tuple[str, str, str]]:
    rows = set()
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rule, resource, status = line.split()
            rows.add((rule, resource, status))
    return rows


def errors(run: Run) -> dict[str, set[str]]:
    """rule -> the distinct ERROR messages."""
    out: dict[str, set[str]] = {}
    for f in findings(run):
        if f["status"] == "ERROR":
            out.setdefault(f["rule_id"], set()).add(f["message"])
    return out


def quiet_world(arm: FakeArm) -> None:
    """An empty subscription whose Defender plans are all on: nothing fails, nothing errs."""
    world = scenario.empty()
    world.lists[f"/subscriptions/{scenario.SUB}/providers/Microsoft.Security/pricings"] = (
        STANDARD_PLANS
    )
    world.install(arm)


def test_planted_subscription_gives_exactly_the_expected_findings(
    arm: FakeArm, azure_cli: Any
) -> None:
    scenario.planted().install(arm)
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 1, run.explain()  # planted FAILs
    assert "Traceback" not in run.stderr, run.explain()
    got, want = table(run), expected_table()
    assert sorted(got - want) == [] and sorted(want - got) == [], (
        f"unexpected: {sorted(got - want)}\nmissing: {sorted(want - got)}"
    )
    # Every finding is well formed and ERRORs say why.
    for f in findings(run):
        assert f["target"] == TARGET
        if f["status"] == "ERROR":
            assert f["message"], f


def test_sign_in_and_scan_talk_to_the_given_endpoints_only(arm: FakeArm, azure_cli: Any) -> None:
    scenario.planted().install(arm)
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 1, run.explain()
    assert run.refused == [], f"the CLI tried to resolve {run.refused}"
    # Sign-in went to our authority (discovery off), once, for our ARM endpoint's audience.
    assert arm.token_requests, "no token was requested from the fake authority"
    assert {t["scope"] for t in arm.token_requests} == {f"{arm.base_url}/.default"}
    assert {t["grant_type"] for t in arm.token_requests} == {"client_credentials"}
    # Reads only, every one answered (no unknown route), every api-version pinned.
    assert {r.method for r in arm.requests} <= {"GET", "POST"}
    posts = [r.path for r in arm.requests if r.method == "POST"]
    assert posts and all(p.endswith("/oauth2/v2.0/token") for p in posts)
    assert [(r.path, r.status) for r in arm.requests if r.status != 200] == []
    assert arm.unpinned == [], arm.unpinned


def test_lists_are_paged_through_absolute_next_links(arm: FakeArm, azure_cli: Any) -> None:
    scenario.planted().install(arm)
    arm.page_size = 1
    run = azure_cli("--subscription", scenario.SUB, "--checks", "azure.network.nsg_exposure")
    assert run.code == 1, run.explain()
    nsg_path = f"/subscriptions/{scenario.SUB}/providers/Microsoft.Network/networkSecurityGroups"
    pages = [r for r in arm.requests if r.path == nsg_path]
    assert [r.query.get("$skiptoken") for r in pages] == [None, "1", "2", "3", "4"]
    nsgs = {f["resource_id"].rsplit("/", 1)[-1] for f in findings(run)}
    assert nsgs == {"nsgrdpany", "nsgrdpvnet", "nsgsshdeniedfirst", "nsgsqlinternet", "nsgallopen"}


def test_a_clean_subscription_passes_with_exit_zero(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 0, run.explain()
    statuses = Counter(f["status"] for f in findings(run))
    assert statuses["PASS"] == 4  # the four core Defender plans
    assert set(statuses) == {"PASS", "NOT_APPLICABLE"}


def test_all_subscriptions_discovers_what_the_credential_sees(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    run = azure_cli("--all-subscriptions", "--checks", "azure.defender.plan")
    assert run.code == 0, run.explain()
    assert {f["target"] for f in findings(run)} == {TARGET}
    assert any(r.path == "/subscriptions" for r in arm.requests)


def test_denied_list_is_error_naming_the_permission_and_the_rest_still_runs(
    arm: FakeArm, azure_cli: Any
) -> None:
    quiet_world(arm)
    arm.fault(
        r"/providers/Microsoft\.Network/networkSecurityGroups$",
        403,
        body=fake_arm.error_body("AuthorizationFailed", "no access"),
    )
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 3, run.explain()  # incomplete, nothing failing
    errs = errors(run)
    assert set(errs) == {"AZ-NSG-01", "AZ-NSG-02", "AZ-NSG-03", "AZ-NSG-04"}
    assert errs["AZ-NSG-01"] == {
        "access denied (403 AuthorizationFailed): "
        "needs Microsoft.Network/networkSecurityGroups/read"
    }
    assert Counter(f["status"] for f in findings(run))["PASS"] == 4  # Defender still judged


def test_throttling_without_retries_is_error_and_the_scan_completes(
    arm: FakeArm, azure_cli: Any
) -> None:
    quiet_world(arm)
    limit = arm.fault(
        r"/providers/Microsoft\.Storage/storageAccounts$",
        429,
        body=fake_arm.error_body("TooManyRequests", "slow down"),
        headers={"Retry-After": "0"},
    )
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 3, run.explain()
    assert limit.hits == 1  # --max-retries 0: asked once
    messages = {m for ms in errors(run).values() for m in ms}
    assert messages == {
        "throttled by ARM (429 TooManyRequests) reading "
        "Microsoft.Storage/storageAccounts/read; retries spent"
    }
    assert any(r.startswith("AZ-TLS-01") for r in errors(run))


def test_server_errors_are_retried_within_bounds_then_error(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    broken = arm.fault(r"/providers/Microsoft\.Security/pricings$", 500)
    run = azure_cli("--subscription", scenario.SUB, "--max-retries", "2")
    assert run.code == 3, run.explain()
    assert broken.hits == 3  # one try and two retries
    assert errors(run) == {
        "AZ-DEF-01": {"ARM answered HTTP 500 (Internal Server Error) reading "
                      "Microsoft.Security/pricings/read"}
    }  # fmt: skip


def test_malformed_json_is_error_never_pass(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    arm.fault(r"/providers/Microsoft\.Compute/disks$", 200, raw=b'{"value": [')
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 3, run.explain()
    errs = errors(run)
    assert set(errs) == {"AZ-ENC-01", "AZ-ENC-02", "RES-AZ-SNAP-01", "RES-AZ-SNAP-02",
                         "RES-AZ-SNAP-03"}  # fmt: skip
    assert errs["AZ-ENC-01"] == {
        "ARM sent a body that is not JSON reading Microsoft.Compute/disks/read"
    }


def test_slow_route_times_out_as_error(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    arm.fault(r"/providers/Microsoft\.Sql/servers$", 200, body={"value": []}, delay=3)
    run = azure_cli("--subscription", scenario.SUB, "--timeout", "1")
    assert run.code == 3, run.explain()
    messages = {m for ms in errors(run).values() for m in ms}
    assert len(messages) == 1 and "cannot reach ARM" in messages.pop()


def test_closed_port_is_error_for_everything(arm: FakeArm, azure_cli: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}"
    run = azure_cli("--subscription", scenario.SUB, endpoint=closed)
    assert run.code == 3, run.explain()
    found = findings(run)
    assert found and {f["status"] for f in found} == {"ERROR"}
    assert all(f["message"].startswith("cannot reach ARM") for f in found), found[0]


def test_wrong_secret_is_an_authentication_error(arm: FakeArm, azure_cli: Any) -> None:
    quiet_world(arm)
    run = azure_cli("--subscription", scenario.SUB, env={"AZURE_CLIENT_SECRET": "wrong"})
    assert run.code == 3, run.explain()
    found = findings(run)
    assert {f["status"] for f in found} == {"ERROR"}
    assert all(f["message"].startswith("Azure sign-in failed") for f in found)
    assert not [r for r in arm.requests if r.path.startswith("/subscriptions")]


def test_http_arm_endpoint_is_refused_before_anything_is_sent(arm: FakeArm, azure_cli: Any) -> None:
    run = azure_cli("--subscription", scenario.SUB, endpoint="http://127.0.0.1:9")
    assert run.code == 2, run.explain()
    assert "https://" in run.stderr
    assert arm.requests == []


def test_one_denied_read_stays_with_the_rules_it_feeds(arm: FakeArm, azure_cli: Any) -> None:
    """Locations denied: every residency verdict is ERROR naming the permission; hardening
    verdicts that need no location stand. One VM's instance view denied: only that VM."""
    scenario.planted().install(arm)
    arm.fault(r"/locations$", 403, body=fake_arm.error_body("AuthorizationFailed", "no"))
    arm.fault(r"/virtualMachines/vmpatched/instanceView$", 403,
              body=fake_arm.error_body("AuthorizationFailed", "no"))  # fmt: skip
    run = azure_cli("--subscription", scenario.SUB)
    assert run.code == 1, run.explain()
    got = table(run)
    residency = {row for row in got if row[0].startswith("RES-AZ-") and row[0] != "RES-AZ-CLS-01"}
    assert residency and {status for _, _, status in residency} == {"ERROR"}
    located = "needs Microsoft.Resources/subscriptions/locations/read"
    assert all(located in m for rule, ms in errors(run).items() if rule.startswith("RES-AZ-")
               and rule != "RES-AZ-CLS-01" for m in ms)  # fmt: skip
    assert ("AZ-TLS-01", "stconfinsecure", "FAIL") in got
    assert ("AZ-NSG-01", "nsgrdpany", "FAIL") in got
    assert ("AZ-PATCH-01", "vmpatched", "ERROR") in got
    assert ("AZ-PATCH-01", "vmunpatched", "FAIL") in got
    assert errors(run)["AZ-PATCH-01"] == {
        "could not verify: access denied (403 AuthorizationFailed): "
        "needs Microsoft.Compute/virtualMachines/instanceView/read",
        "could not verify: no patch assessment in the VM's instance view",  # vmnoassess
    }
