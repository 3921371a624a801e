"""Azure scan speed against the local fake ARM (``python bench/azure_scan.py [N ...]``).

For each N, plants N resources of every scanned type (storage accounts, disks, snapshots,
NSGs, virtual networks, NICs, VMs with instance views, Recovery Services vaults, SQL servers
with one database each) spread over three locations, in two subscriptions, then scans both
with the real azure-identity/azure-mgmt clients over HTTPS on 127.0.0.1 (default baseline,
default concurrency) and prints wall time, ARM requests, and requests per resource.
Subscriptions are scanned in parallel; inside one, resource types are read concurrently.
Prints figures only: no assertion on time. The server is stopped before exiting.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

from scanner.baseline import loader
from scanner.cli_azure import session_target
from scanner.clouds.azure import AzureSettings, make_credential
from scanner.engine import scan
from scanner.model import TargetKind
from scanner.registry import Registry
from tests.integration.azure import fake_arm, scenario
from tests.integration.azure.scenario import World

LOCATIONS = ("saudiarabiaeast", "uaenorth", "qatarcentral")
SUBSCRIPTIONS = (scenario.SUB, "6f4d2e8b-9c3a-4d78-8b21-3c8f5e7d9d12")
TYPES = 9  # resource types planted per N


def plant(world: World, sub: str, n: int) -> None:
    """N of each type, as scenario.py shapes them, under subscription ``sub``."""
    base = scenario.planted()  # reuse its item shapes by cloning and renaming
    pick = {path.rsplit("/providers/", 1)[-1].lower(): items for path, items in base.lists.items()
            if path.startswith(f"/subscriptions/{scenario.SUB}/providers/")}  # fmt: skip
    for kind in (
        "microsoft.storage/storageaccounts",
        "microsoft.compute/disks",
        "microsoft.compute/snapshots",
        "microsoft.network/networksecuritygroups",
        "microsoft.network/virtualnetworks",
        "microsoft.network/networkinterfaces",
        "microsoft.compute/virtualmachines",
        "microsoft.recoveryservices/vaults",
        "microsoft.sql/servers",
    ):
        template = pick[kind][0]
        for i in range(n):
            item = _renamed(template, sub, f"{template['name']}{i}", LOCATIONS[i % 3])
            world.listed(f"/subscriptions/{sub}/providers/{kind}", item)
            rid = item["id"]
            if kind.endswith("virtualmachines"):
                world.objects[f"{rid}/instanceView"] = scenario.instance_view(None, 0, 0)
            elif kind.endswith("vaults"):
                world.objects[rid] = _renamed(
                    base.objects[template["id"]], sub, item["name"], item["location"]
                )
                world.lists[f"{rid}/backupProtectedItems"] = []
            elif kind.endswith("servers"):
                db = {"id": f"{rid}/databases/db", "name": "db", "location": item["location"],
                      "type": "Microsoft.Sql/servers/databases", "properties": {}}  # fmt: skip
                world.lists[f"{rid}/databases"] = [db]
                world.lists[f"{rid}/replicationLinks"] = []
                world.objects[f"{rid}/databases/db/transparentDataEncryption/current"] = {
                    "id": f"{rid}/databases/db/transparentDataEncryption/current",
                    "properties": {"state": "Enabled"},
                }
    world.lists[f"/subscriptions/{sub}/providers/Microsoft.Security/pricings"] = base.lists[
        f"/subscriptions/{scenario.SUB}/providers/Microsoft.Security/pricings"
    ]


def _renamed(template: dict[str, Any], sub: str, name: str, where: str) -> dict[str, Any]:
    text = json.dumps(template).replace(scenario.SUB, sub)
    item: dict[str, Any] = json.loads(text)
    item["id"] = str(item["id"]).rsplit("/", 1)[0] + "/" + name
    item["name"], item["location"] = name, where
    return item


def one(n: int, directory: Path) -> tuple[float, int, int]:
    with fake_arm.running(directory) as arm:
        arm.page_size = 100
        for sub in SUBSCRIPTIONS:
            world = World()
            plant(world, sub, n)
            _install(world, arm, sub)
        settings = AzureSettings(
            arm_endpoint=arm.base_url,
            authority_host=arm.base_url,
            ca_bundle=str(arm.ca_pem),
            max_retries=0,
            timeout=30,
        )
        credential = make_credential(
            settings,
            {
                "AZURE_TENANT_ID": fake_arm.TENANT,
                "AZURE_CLIENT_ID": fake_arm.CLIENT_ID,
                "AZURE_CLIENT_SECRET": fake_arm.CLIENT_SECRET,
            },
        )
        registry = Registry.installed()
        checks = registry.select(kind=TargetKind.AZURE_SUBSCRIPTION)
        baseline = loader.load(loader.DEFAULT_BASELINE, registry)
        reads = list({c.collector.name: c.collector for c in checks}.values())
        targets = [session_target(s, settings, credential, reads) for s in SUBSCRIPTIONS]
        started = time.monotonic()
        result = scan(targets, checks, baseline)
        wall = time.monotonic() - started
        requests = len([r for r in arm.requests if r.path.startswith("/subscriptions")])
        del result
        return wall, requests, n * TYPES * len(SUBSCRIPTIONS)


def _install(world: World, arm: fake_arm.FakeArm, sub: str) -> None:
    arm.put(f"/subscriptions/{sub}", {**scenario.subscription(), "subscriptionId": sub,
                                       "id": f"/subscriptions/{sub}"})  # fmt: skip
    arm.put_list(f"/subscriptions/{sub}/locations",
                 [scenario.location(*row) for row in scenario.LOCATIONS])  # fmt: skip
    arm.put_list(f"/subscriptions/{sub}/resourcegroups", [])
    arm.put_list(f"/subscriptions/{sub}/resources", world.generic)
    for path, items in world.lists.items():
        arm.put_list(path, items)
    for path, body in world.objects.items():
        arm.put(path, body)
    for kind in ("Microsoft.Network/azureFirewalls",):
        arm.put_list(f"/subscriptions/{sub}/providers/{kind}", [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    args = parser.parse_args()
    print(f"{'N':>6} {'resources':>10} {'wall s':>8} {'requests':>9} {'req/resource':>13}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="souqscan-bench-") as tmp:
            wall, requests, resources = one(n, Path(tmp))
        print(f"{n:>6} {resources:>10} {wall:>8.2f} {requests:>9} {requests / resources:>13.2f}")


if __name__ == "__main__":
    main()
