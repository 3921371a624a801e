"""The planted subscription: violations beside compliant twins, built from the vendored
Azure REST API examples (tests/data/azure/azure-rest-api-specs) by changing ids, locations,
tags and the properties under test. Payloads with no published example (generic resource
list, locations, SQL servers/databases/links, instance views, NICs, snapshots, protected
items) are written here in the documented shapes.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.azure.fake_arm import FakeArm

SUB = "5e3c1f9a-8d2b-4c67-9a10-2b7f4e6d8c01"
SPECS = (
    Path(__file__).resolve().parents[2]
    / "data"
    / "azure"
    / "azure-rest-api-specs"
    / "specification"
)
Json = dict[str, Any]

GROUPS: dict[str, dict[str, str]] = {
    "rg-regulated": {"data-classification": "regulated"},
    "rg-confidential": {"data-classification": "Confidential"},
    # Azure tag names are case-insensitive: this key must still classify.
    "rg-public": {"Data-Classification": "Public"},
    "rg-untagged": {},
}

# name, pair, logical: the subscription's location list as ARM would give it.
LOCATIONS: list[tuple[str, str | None, bool]] = [
    ("saudiarabiaeast", None, False),
    ("uaenorth", "uaecentral", False),
    ("uaecentral", "uaenorth", False),
    ("qatarcentral", None, False),
    ("westeurope", "northeurope", False),
    ("northeurope", "westeurope", False),
    ("uae", None, True),
]


def example(relative: str) -> Json:
    """``responses.200.body`` of a vendored example file."""
    doc = json.loads((SPECS / relative).read_text(encoding="utf-8"))
    body: Json = doc["responses"]["200"]["body"]
    return body


def entry(relative: str, index: int = 0) -> Json:
    """A deep copy of one item of a vendored example's list, to plant a variant of."""
    item: Json = copy.deepcopy(example(relative)["value"][index])
    return item


def arm_id(group: str, kind: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/{kind}/{name}"


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")


class World:
    """Everything the fake ARM serves, plus the generic resource list derived from it."""

    def __init__(self) -> None:
        self.generic: list[Json] = []
        self.lists: dict[str, list[Json]] = {}
        self.objects: dict[str, Any] = {}

    def listed(self, path: str, item: Json, *, generic: bool = True) -> Json:
        self.lists.setdefault(path, []).append(item)
        if generic:
            self.add_generic(item)
        return item

    def add_generic(self, item: Json) -> None:
        entry: Json = {k: item[k] for k in ("id", "name", "type", "location") if k in item}
        if item.get("tags") is not None:
            entry["tags"] = item["tags"]
        self.generic.append(entry)

    def install(self, arm: FakeArm) -> None:
        sub = f"/subscriptions/{SUB}"
        arm.put_list("/subscriptions", [subscription()])
        arm.put(sub, subscription())
        arm.put_list(f"{sub}/locations", [location(*row) for row in LOCATIONS])
        arm.put_list(
            f"{sub}/resourcegroups",
            [
                {
                    "id": f"{sub}/resourceGroups/{g}",
                    "name": g,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": "saudiarabiaeast",
                    "tags": t,
                    "properties": {"provisioningState": "Succeeded"},
                }
                for g, t in GROUPS.items()
            ],
        )
        arm.put_list(f"{sub}/resources", self.generic)
        for path, items in self.lists.items():
            arm.put_list(path, items)
        for path, body in self.objects.items():
            arm.put(path, body)


def subscription() -> Json:
    body = entry(
        "resources/resource-manager/Microsoft.Resources/stable/2022-12-01/examples/"
        "GetSubscriptions.json",
        0,
    )
    body.update(id=f"/subscriptions/{SUB}", subscriptionId=SUB, displayName="planted", tags={})
    return body


def location(name: str, pair: str | None, logical: bool) -> Json:
    metadata: Json = {
        "regionType": "Logical" if logical else "Physical",
        "regionCategory": "Other" if logical else "Recommended",
        "geographyGroup": "Middle East",
    }
    if pair:
        metadata["pairedRegion"] = [{"name": pair, "id": f"/subscriptions/{SUB}/locations/{pair}"}]
    return {
        "id": f"/subscriptions/{SUB}/locations/{name}",
        "name": name,
        "displayName": name,
        "regionalDisplayName": name,
        "metadata": metadata,
    }


# -- storage ---------------------------------------------------------------------------
STORAGE = (
    "storage/resource-manager/Microsoft.Storage/stable/2024-01-01/examples/StorageAccountList.json"
)


def storage_account(group: str, name: str, where: str, sku: str, **props: Any) -> Json:
    item = entry(STORAGE, 0)
    item.update(
        id=arm_id(group, "Microsoft.Storage/storageAccounts", name),
        name=name,
        location=where,
        tags=None,
        sku={"name": sku, "tier": "Standard"},
    )
    del item["tags"]
    item["properties"]["primaryLocation"] = where
    item["properties"].pop("secondaryLocation", None)
    item["properties"].update(props)
    return item


def plant_storage(world: World) -> None:
    path = f"/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts"
    secure = {
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "publicNetworkAccess": "Disabled",
        "allowBlobPublicAccess": False,
    }
    cmk = {
        "keySource": "Microsoft.Keyvault",
        "requireInfrastructureEncryption": True,
        "services": {"blob": {"keyType": "Account", "enabled": True}},
    }
    world.listed(path, storage_account(
        "rg-regulated", "streguaegrs", "uaenorth", "Standard_GRS",
        secondaryLocation="uaecentral", encryption=cmk, **secure,
    ))  # fmt: skip
    world.listed(path, storage_account(
        "rg-regulated", "stregsazrs", "saudiarabiaeast", "Standard_ZRS", encryption=cmk, **secure
    ))  # fmt: skip
    world.listed(path, storage_account(
        "rg-confidential", "stconfinsecure", "saudiarabiaeast", "Standard_LRS",
        supportsHttpsTrafficOnly=False, minimumTlsVersion="TLS1_0",
        publicNetworkAccess="Enabled", allowBlobPublicAccess=True,
        networkAcls={"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []},
        encryption={"keySource": "Microsoft.Storage", "services": {}},
    ))  # fmt: skip
    # No secondaryLocation in the payload: the copy is found through ARM's pairing.
    world.listed(path, storage_account(
        "rg-public", "stpubweuragrs", "westeurope", "Standard_RAGRS",
        encryption={"keySource": "Microsoft.Storage"}, **secure,
    ))  # fmt: skip


# -- compute ---------------------------------------------------------------------------
DISKS = (
    "compute/resource-manager/Microsoft.Compute/DiskRP/stable/2024-03-02/examples/"
    "diskExamples/Disk_ListBySubscription.json"
)
VMS = (
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/examples/"
    "virtualMachineExamples/VirtualMachine_ListBySubscription_ByLocation.json"
)


def disk(group: str, name: str, where: str, encryption: str) -> Json:
    item = entry(DISKS, 1)
    item.update(id=arm_id(group, "Microsoft.Compute/disks", name), name=name, location=where)
    item["properties"]["encryption"] = {"type": encryption}
    if "CustomerKey" in encryption:
        item["properties"]["encryption"]["diskEncryptionSetId"] = arm_id(
            group, "Microsoft.Compute/diskEncryptionSets", "des-sa"
        )
    return item


def snapshot(group: str, name: str, where: str, source: str) -> Json:
    return {
        "id": arm_id(group, "Microsoft.Compute/snapshots", name),
        "name": name,
        "type": "Microsoft.Compute/snapshots",
        "location": where,
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": source},
            "diskSizeGB": 10,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "provisioningState": "Succeeded",
        },
    }


def vm(group: str, name: str, where: str) -> Json:
    item = entry(VMS, 0)
    item.update(
        id=arm_id(group, "Microsoft.Compute/virtualMachines", name), name=name, location=where
    )
    del item["tags"]
    item["properties"]["networkProfile"]["networkInterfaces"] = []
    del item["properties"]["availabilitySet"]
    return item


def instance_view(assessed: datetime | None, critical: int, other: int) -> Json:
    view: Json = {
        "computerName": "vm",
        "osName": "Windows Server 2022 Datacenter",
        "statuses": [{"code": "PowerState/running", "level": "Info"}],
    }
    if assessed is not None:
        view["patchStatus"] = {
            "availablePatchSummary": {
                "status": "Succeeded",
                "assessmentActivityId": "68f8b292-dfc2-4646-9781-33cc88631968",
                "rebootPending": False,
                "criticalAndSecurityPatchCount": critical,
                "otherPatchCount": other,
                "startTime": iso(assessed - timedelta(minutes=5)),
                "lastModifiedTime": iso(assessed),
            }
        }
    return view


def plant_compute(world: World, now: datetime) -> None:
    disks = f"/subscriptions/{SUB}/providers/Microsoft.Compute/disks"
    world.listed(disks, disk(
        "rg-regulated", "diskregplatform", "saudiarabiaeast", "EncryptionAtRestWithPlatformKey"
    ))  # fmt: skip
    cmk = world.listed(disks, disk(
        "rg-regulated", "diskregcmk", "saudiarabiaeast", "EncryptionAtRestWithCustomerKey"
    ))  # fmt: skip
    snaps = f"/subscriptions/{SUB}/providers/Microsoft.Compute/snapshots"
    world.listed(snaps, snapshot("rg-public", "snapcmkuae", "uaenorth", cmk["id"]))
    world.listed(snaps, snapshot("rg-public", "snapcmksa", "saudiarabiaeast", cmk["id"]))
    vms = f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"
    for group, name, assessed, critical in [
        ("rg-regulated", "vmpatched", now - timedelta(days=1), 0),
        ("rg-regulated", "vmunpatched", now - timedelta(days=2), 3),
        ("rg-regulated", "vmstale", now - timedelta(days=30), 0),
        ("rg-confidential", "vmnoassess", None, 0),
        ("rg-public", "vmpublic", now - timedelta(days=1), 0),
    ]:
        item = vm(group, name, "saudiarabiaeast")
        if name == "vmpatched":  # the compliant twin for encryption at host
            item["properties"]["securityProfile"] = {"encryptionAtHost": True}
        item = world.listed(vms, item)
        world.objects[f"{item['id']}/instanceView"] = instance_view(assessed, critical, 1)


# -- network ---------------------------------------------------------------------------
NSGS = (
    "network/resource-manager/Microsoft.Network/Network/stable/2025-07-01/examples/"
    "NetworkSecurityGroupListAll.json"
)
VNETS = (
    "network/resource-manager/Microsoft.Network/Network/stable/2025-07-01/examples/"
    "VirtualNetworkListAll.json"
)
FIREWALLS = (
    "network/resource-manager/Microsoft.Network/Network/stable/2025-07-01/examples/"
    "AzureFirewallListBySubscription.json"
)


def rule(
    name: str, priority: int, access: str, source: str | list[str], ports: str | list[str],
    protocol: str = "Tcp",
) -> Json:  # fmt: skip
    props: Json = {
        "protocol": protocol,
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": access,
        "priority": priority,
        "direction": "Inbound",
        "provisioningState": "Succeeded",
    }
    if isinstance(source, list):
        props["sourceAddressPrefixes"] = source
    else:
        props["sourceAddressPrefix"] = source
    if isinstance(ports, list):
        props["destinationPortRanges"] = ports
    else:
        props["destinationPortRange"] = ports
    return {"name": name, "properties": props}


def nsg(group: str, name: str, rules: list[Json]) -> Json:
    item = entry(NSGS, 0)
    nid = arm_id(group, "Microsoft.Network/networkSecurityGroups", name)
    item.update(id=nid, name=name, location="saudiarabiaeast")
    for default in item["properties"]["defaultSecurityRules"]:
        default["id"] = f"{nid}/defaultSecurityRules/{default['name']}"
    item["properties"]["securityRules"] = [
        {**r, "id": f"{nid}/securityRules/{r['name']}"} for r in rules
    ]
    return item


def plant_network(world: World) -> None:
    path = f"/subscriptions/{SUB}/providers/Microsoft.Network/networkSecurityGroups"
    nsgs = {
        "nsgrdpany": [rule("rdp", 100, "Allow", "*", "3389")],
        "nsgrdpvnet": [rule("rdp", 100, "Allow", "VirtualNetwork", "3389")],
        # Service-tag semantics and priority: the Deny from Internet wins over the Allow.
        "nsgsshdeniedfirst": [
            rule("deny-ssh", 100, "Deny", "Internet", "22"),
            rule("ssh", 200, "Allow", "*", "22"),
        ],
        "nsgsqlinternet": [
            rule("sql", 100, "Allow", "Internet", "1433"),
            rule("web", 110, "Allow", ["10.0.0.0/8", "0.0.0.0/0"], ["8080", "443"]),
        ],
        "nsgallopen": [rule("any", 100, "Allow", "*", "*", protocol="*")],
    }
    made = {n: world.listed(path, nsg("rg-untagged", n, r)) for n, r in nsgs.items()}

    template = example(VNETS)["value"][0]
    vnets = f"/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks"

    def vnet(group: str, name: str, where: str, ddos: bool, subnets: dict[str, str | None]) -> Json:
        item = copy.deepcopy(template)
        vid = arm_id(group, "Microsoft.Network/virtualNetworks", name)
        item.update(id=vid, name=name, location=where)
        del item["properties"]["defaultPublicNatGateway"]
        item["properties"]["enableDdosProtection"] = ddos
        item["properties"]["subnets"] = [
            {
                "name": s,
                "id": f"{vid}/subnets/{s}",
                "properties": {"addressPrefix": f"10.0.{i}.0/24", "provisioningState": "Succeeded"}
                | ({"networkSecurityGroup": {"id": made[n]["id"]}} if n else {}),
            }
            for i, (s, n) in enumerate(subnets.items())
        ]
        return world.listed(vnets, item)

    reg = vnet("rg-regulated", "vnetreg", "saudiarabiaeast", True, {
        "app": "nsgrdpvnet", "data": None, "AzureFirewallSubnet": None,
    })  # fmt: skip
    vnet("rg-regulated", "vnetregbare", "saudiarabiaeast", False, {"web": "nsgsshdeniedfirst"})
    vnet("rg-public", "vnetpublic", "westeurope", False, {"default": "nsgrdpany"})

    firewall = entry(FIREWALLS, 0)
    fid = arm_id("rg-regulated", "Microsoft.Network/azureFirewalls", "fwreg")
    firewall.update(id=fid, name="fwreg", location="saudiarabiaeast")
    firewall["properties"]["ipConfigurations"][0]["properties"]["subnet"] = {
        "id": f"{reg['id']}/subnets/AzureFirewallSubnet"
    }
    world.listed(f"/subscriptions/{SUB}/providers/Microsoft.Network/azureFirewalls", firewall)

    nics = f"/subscriptions/{SUB}/providers/Microsoft.Network/networkInterfaces"
    for name, subnet, own in [
        ("nicapp", "app", None),
        ("nicdata", "data", None),
        ("nicdataown", "data", "nsgrdpvnet"),
    ]:
        nid = arm_id("rg-regulated", "Microsoft.Network/networkInterfaces", name)
        props: Json = {
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "id": f"{nid}/ipConfigurations/ipconfig1",
                    "properties": {
                        "privateIPAddress": "10.0.0.4",
                        "subnet": {"id": f"{reg['id']}/subnets/{subnet}"},
                    },
                }
            ],
            "provisioningState": "Succeeded",
        }
        if own:
            props["networkSecurityGroup"] = {"id": made[own]["id"]}
        world.listed(nics, {
            "id": nid, "name": name, "type": "Microsoft.Network/networkInterfaces",
            "location": "saudiarabiaeast", "properties": props,
        })  # fmt: skip


# -- backup ----------------------------------------------------------------------------
VAULT = (
    "recoveryservices/resource-manager/Microsoft.RecoveryServices/RecoveryServices/stable/"
    "2025-08-01/examples/GETVault.json"
)
VAULT_LIST = (
    "recoveryservices/resource-manager/Microsoft.RecoveryServices/RecoveryServices/stable/"
    "2025-08-01/examples/ListBySubscriptionIds.json"
)
STORAGE_CONFIG = (
    "recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/stable/2025-02-01/"
    "examples/Common/BackupStorageConfig_Get.json"
)


def plant_backup(world: World) -> None:
    listed = f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/vaults"
    protected = {
        "vaultsalrs": ["vmpatched", "vmstale"],
        "vaultuaegrs": ["vmnoassess"],
        "vaultsaconfig": [],
    }
    for group, name, where, redundancy, soft_delete in [
        ("rg-regulated", "vaultsalrs", "saudiarabiaeast", "LocallyRedundant", "Enabled"),
        ("rg-regulated", "vaultuaegrs", "uaenorth", "GeoRedundant", "Disabled"),
        ("rg-regulated", "vaultsaconfig", "saudiarabiaeast", None, "AlwaysON"),
    ]:
        vid = arm_id(group, "Microsoft.RecoveryServices/vaults", name)
        # The list carries no redundancySettings (as in the real example): a GET has them.
        short = entry(VAULT_LIST, 0)
        short.update(id=vid, name=name, location=where)
        del short["tags"]
        world.listed(listed, short)
        full = copy.deepcopy(example(VAULT))
        full.update(id=vid, name=name, location=where)
        del full["tags"]
        if redundancy is None:
            del full["properties"]["redundancySettings"]
            config = copy.deepcopy(example(STORAGE_CONFIG))
            config["id"] = f"{vid}/backupstorageconfig/vaultstorageconfig"
            world.objects[config["id"]] = config
        else:
            full["properties"]["redundancySettings"]["standardTierStorageRedundancy"] = redundancy
        full["properties"]["securitySettings"]["softDeleteSettings"]["softDeleteState"] = (
            soft_delete
        )
        world.objects[vid] = full
        items = []
        for vm_name in protected[name]:
            vm_id = arm_id(
                "rg-confidential" if vm_name == "vmnoassess" else "rg-regulated",
                "Microsoft.Compute/virtualMachines",
                vm_name,
            )
            items.append({
                "id": f"{vid}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;"
                f"{vm_name}/protectedItems/vm;{vm_name}",
                "name": f"vm;{vm_name}",
                "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/"
                "protectedItems",
                "properties": {
                    "protectedItemType": "Microsoft.Compute/virtualMachines",
                    "backupManagementType": "AzureIaasVM",
                    "workloadType": "VM",
                    "sourceResourceId": vm_id,
                    "virtualMachineId": vm_id,
                    "protectionState": "Protected",
                },
            })  # fmt: skip
        world.lists[f"{vid}/backupProtectedItems"] = items


# -- SQL -------------------------------------------------------------------------------
TDE = (
    "sql/resource-manager/Microsoft.Sql/stable/2023-08-01/examples/"
    "TransparentDataEncryptionGet.json"
)


def plant_sql(world: World) -> None:
    servers = f"/subscriptions/{SUB}/providers/Microsoft.Sql/servers"
    for group, name, public, tls, dbs in [
        ("rg-regulated", "sqlsa", "Disabled", "1.2", {"orders": ("Enabled", "uaenorth"),
                                                      "ledger": ("Disabled", None)}),
        ("rg-confidential", "sqlopen", "Enabled", "1.0", {}),
    ]:  # fmt: skip
        sid = arm_id(group, "Microsoft.Sql/servers", name)
        world.listed(servers, {
            "id": sid, "name": name, "type": "Microsoft.Sql/servers",
            "location": "saudiarabiaeast", "kind": "v12.0",
            "properties": {
                "administratorLogin": "dbadmin", "version": "12.0", "state": "Ready",
                "fullyQualifiedDomainName": f"{name}.database.windows.net",
                "publicNetworkAccess": public, "minimalTlsVersion": tls,
            },
        })  # fmt: skip
        databases = [
            {
                "id": f"{sid}/databases/master",
                "name": "master",
                "type": "Microsoft.Sql/servers/databases",
                "location": "saudiarabiaeast",
                "properties": {"status": "Online"},
            }
        ]
        links = []
        for db, (tde, partner) in dbs.items():
            did = f"{sid}/databases/{db}"
            item = {
                "id": did, "name": db, "type": "Microsoft.Sql/servers/databases",
                "location": "saudiarabiaeast", "sku": {"name": "S0", "tier": "Standard"},
                "properties": {"status": "Online", "collation": "SQL_Latin1_General_CP1_CI_AS"},
            }  # fmt: skip
            databases.append(item)
            world.add_generic(item)
            body = copy.deepcopy(example(TDE))
            body["id"] = f"{did}/transparentDataEncryption/current"
            body["properties"]["state"] = tde
            world.objects[f"{did}/transparentDataEncryption/current"] = body
            if partner:
                links.append({
                    "id": f"{did}/replicationLinks/5b3d8a12-7c1e-4f00-9c55-0d9a1e2b3c4d",
                    "name": "5b3d8a12-7c1e-4f00-9c55-0d9a1e2b3c4d",
                    "type": "Microsoft.Sql/servers/databases/replicationLinks",
                    "properties": {
                        "partnerServer": f"{name}-dr", "partnerDatabase": db,
                        "partnerLocation": partner, "role": "Primary",
                        "partnerRole": "Secondary", "replicationState": "CATCH_UP",
                        "linkType": "GEO",
                    },
                })  # fmt: skip
        world.lists[f"{sid}/databases"] = databases
        world.lists[f"{sid}/replicationLinks"] = links


# -- Defender --------------------------------------------------------------------------
PRICINGS = (
    "security/resource-manager/Microsoft.Security/stable/2024-01-01/examples/Pricings/"
    "ListPricings_example.json"
)


def plant_defender(world: World) -> None:
    plans = copy.deepcopy(example(PRICINGS)["value"])
    for plan in plans:
        plan["id"] = f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/{plan['name']}"
        if plan["name"] == "VirtualMachines":  # Defender for Servers switched off
            plan["properties"] = {"pricingTier": "Free", "freeTrialRemainingTime": "PT0S"}
    world.lists[f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings"] = plans


def plant_oddities(world: World) -> None:
    """Locations that are not a country: global (DNS zone) and a logical geography."""
    world.add_generic({
        "id": arm_id("rg-untagged", "Microsoft.Network/dnszones", "souq.example"),
        "name": "souq.example", "type": "Microsoft.Network/dnszones", "location": "global",
    })  # fmt: skip
    world.add_generic({
        "id": arm_id("rg-untagged", "Microsoft.Insights/dataCollectionRules", "dcruae"),
        "name": "dcruae", "type": "Microsoft.Insights/dataCollectionRules", "location": "uae",
    })  # fmt: skip


def planted(now: datetime | None = None) -> World:
    world = World()
    moment = now or datetime.now(UTC)
    plant_storage(world)
    plant_compute(world, moment)
    plant_network(world)
    plant_backup(world)
    plant_sql(world)
    plant_defender(world)
    plant_oddities(world)
    return world


def empty() -> World:
    """A subscription with nothing in it (but its locations and Defender plans)."""
    world = World()
    world.lists[f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings"] = []
    for path in (
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/azureFirewalls",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
        "Microsoft.Compute/snapshots",
        "Microsoft.RecoveryServices/vaults",
        "Microsoft.Sql/servers",
    ):
        world.lists[f"/subscriptions/{SUB}/providers/{path}"] = []
    return world
