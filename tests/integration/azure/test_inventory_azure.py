"""An Azure subscription listed in an inventory: the sovereign-style endpoints come from the
inventory entry, and the scan is the same as `souqscan azure` gives."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.integration.azure import scenario
from tests.integration.azure.fake_arm import FakeArm
from tests.integration.azure.test_azure_cli import quiet_world


def test_inventory_entry_scans_the_subscription(
    arm: FakeArm, azure_cli: Any, tmp_path: Path
) -> None:
    quiet_world(arm)
    estate = tmp_path / "estate.yaml"
    estate.write_text(
        textwrap.dedent(
            f"""\
            targets:
              - name: azure-main
                azure:
                  subscriptions: ["{scenario.SUB}"]
                  arm_endpoint: "{arm.base_url}"
                  authority_host: "{arm.base_url}"
                  ca_bundle: {arm.ca_pem}
                labels: {{owner: cloud@example.sa}}
            """
        )
    )
    run = azure_cli(
        "scan",
        "--inventory",
        str(estate),
        "--no-history",
        "--checks",
        "azure.defender.plan",
        "--format",
        "json",
        inventory=True,
    )
    assert run.code == 0, run.explain()
    assert not run.refused
    found = json.loads(run.stdout)["findings"]
    assert {f["target"] for f in found} == {f"azure:{scenario.SUB}"}
    assert sorted(f["status"] for f in found) == ["PASS"] * 4  # the four core Defender plans
    # Signed in at the inventory's authority, then read ARM at the inventory's endpoint.
    assert any(r.method == "POST" and r.path.endswith("/oauth2/v2.0/token") for r in arm.requests)
    assert any(r.path.startswith(f"/subscriptions/{scenario.SUB}/") for r in arm.requests)
