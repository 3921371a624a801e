"""Pure parsers of the Azure collectors, on the vendored Azure REST API examples
(tests/data/azure/azure-rest-api-specs) and on hand-made edge cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.collectors.azure.backup import parse_vault, protected_vm_ids
from scanner.collectors.azure.common import location_code, merge_tags, resource_group
from scanner.collectors.azure.compute import parse_disk, parse_patch_status, parse_time
from scanner.collectors.azure.defender import parse_pricings
from scanner.collectors.azure.locations import LocationTable, parse_locations
from scanner.collectors.azure.network import internet_exposure, parse_nsg, parse_vnet
from scanner.collectors.azure.sql import replica_locations
from scanner.collectors.azure.storage import parse_account, replication_of
from tests.integration.azure import scenario
from tests.integration.azure.scenario import example, rule

Json = dict[str, Any]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def nsg_with(*rules: Json) -> Json:
    return {"id": "/subscriptions/s/resourceGroups/g/providers/x/y/n", "properties": {
        "securityRules": list(rules)}}  # fmt: skip


# -- NSG exposure ---------------------------------------------------------------------
def test_real_example_nsgs_with_default_rules_only_expose_nothing() -> None:
    nsgs = [parse_nsg(i) for i in example(scenario.NSGS)["value"]]
    assert [(n.name, n.location, n.open_ranges, n.attached) for n in nsgs] == [
        ("nsg1", "westus", (), False),
        ("nsg3", "westus", (), False),
    ]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([rule("r", 100, "Allow", "*", "22")], [(22, 22)]),
        ([rule("r", 100, "Allow", "Internet", "3389")], [(3389, 3389)]),
        ([rule("r", 100, "Allow", "Any", "1433")], [(1433, 1433)]),
        ([rule("r", 100, "Allow", "0.0.0.0/0", "20-23")], [(20, 23)]),
        ([rule("r", 100, "Allow", "::/0", "5432")], [(5432, 5432)]),
        ([rule("r", 100, "Allow", ["10.0.0.0/8", "0.0.0.0/0"], ["80", "443"])],
         [(80, 80), (443, 443)]),
        ([rule("r", 100, "Allow", "VirtualNetwork", "22")], []),
        ([rule("r", 100, "Allow", "AzureLoadBalancer", "*")], []),
        ([rule("r", 100, "Allow", "10.0.0.0/8", "22")], []),
        ([rule("r", 100, "Allow", "*", "*", protocol="*")], [(0, 65535)]),
        # Priority decides, not list order: the Deny (100) shadows the Allow (200).
        ([rule("ok", 200, "Allow", "*", "22"), rule("no", 100, "Deny", "Internet", "22")], []),
        # A Deny from a narrower source leaves the rest of the Internet to the Allow.
        ([rule("no", 100, "Deny", "10.0.0.0/8", "22"), rule("ok", 200, "Allow", "*", "22")],
         [(22, 22)]),
        # A UDP Deny does not close TCP.
        ([rule("no", 100, "Deny", "*", "53", protocol="Udp"),
          rule("ok", 200, "Allow", "*", "53", protocol="*")], [(53, 53)]),
        # ICMP carries no ports.
        ([rule("ping", 100, "Allow", "*", "*", protocol="Icmp")], []),
        # A partial Deny splits the later Allow's range.
        ([rule("no", 100, "Deny", "*", "25"), rule("ok", 200, "Allow", "*", "20-30")],
         [(20, 24), (26, 30)]),
    ],
)  # fmt: skip
def test_internet_exposure_follows_azure_evaluation(
    rules: list[Json], expected: list[tuple[int, int]]
) -> None:
    for r in rules:
        r["properties"]["direction"] = "Inbound"
    assert internet_exposure(rules) == expected


def test_outbound_rules_and_application_security_groups_are_not_internet_exposure() -> None:
    out = rule("out", 100, "Allow", "*", "22")
    out["properties"]["direction"] = "Outbound"
    asg = rule("asg", 100, "Allow", "*", "22")
    asg["properties"]["sourceApplicationSecurityGroups"] = [{"id": "asg1"}]
    assert internet_exposure([out, asg]) == []


def test_unreadable_port_range_makes_the_nsg_unverified_not_closed() -> None:
    bad = rule("r", 100, "Allow", "*", "ssh")
    found = parse_nsg(nsg_with(bad))
    assert found.open_ranges is None
    assert found.open_ports is None and found.all_ports is None
    assert found.error == "port range 'ssh' in NSG rule"


def test_open_ports_expand_and_all_ports_is_flagged() -> None:
    found = parse_nsg(nsg_with(rule("r", 100, "Allow", "*", "*", protocol="*")))
    assert found.all_ports is True
    assert found.open_ports is not None and len(found.open_ports) == 65536
    narrow = parse_nsg(nsg_with(rule("r", 100, "Allow", "*", "8080-8082")))
    assert narrow.open_ports == (8080, 8081, 8082) and narrow.all_ports is False


def test_real_example_vnets_parse_subnets_without_nsgs() -> None:
    vnets = [parse_vnet(i) for i in example(scenario.VNETS)["value"]]
    assert [
        (v.name, v.ddos_protection, [(s.name, s.nsg_id) for s in v.subnets]) for v in vnets
    ] == [
        ("vnet1", False, [("test-1", None)]),
        ("vnet2", False, []),
    ]


# -- storage --------------------------------------------------------------------------
def test_real_example_storage_accounts() -> None:
    places = parse_locations([])
    accounts = [parse_account(i, places) for i in example(scenario.STORAGE)["value"]]
    first, second = accounts[0], accounts[1]
    assert (first.name, first.location, first.replication, first.secondary_location) == (
        "sto1125", "eastus", "GRS", "centraluseuap")  # fmt: skip
    assert first.copy_locations == ("centraluseuap",)
    assert (first.https_only, first.min_tls_version, first.key_source) == (
        False, "TLS1_0", "Microsoft.Storage")  # fmt: skip
    assert first.infrastructure_encryption is False
    # No encryption block at all: unknown, never "platform key".
    assert (second.name, second.key_source, second.infrastructure_encryption) == (
        "sto3699", None, None)  # fmt: skip
    # "eastus2(stage)" is not a region anyone knows: kept, and located nowhere.
    assert accounts[2].location == "eastus2(stage)"


def test_geo_account_without_secondary_uses_the_arm_pair_or_stays_unknown() -> None:
    item = {"id": "/s/a", "location": "westeurope", "sku": {"name": "Standard_RAGRS"},
            "properties": {}}  # fmt: skip
    paired = parse_locations([{"name": "westeurope", "metadata": {
        "regionType": "Physical", "pairedRegion": [{"name": "northeurope"}]}}])  # fmt: skip
    assert parse_account(item, paired).copy_locations == ("northeurope",)
    assert parse_account(item, LocationTable()).copy_locations is None


@pytest.mark.parametrize(
    ("sku", "replication"),
    [("Standard_LRS", "LRS"), ("Standard_RAGZRS", "RAGZRS"), ("Premium_ZRS", "ZRS"),
     ("Standard", None), (None, None)],
)  # fmt: skip
def test_replication_of_sku(sku: object, replication: str | None) -> None:
    assert replication_of(sku) == replication


# -- compute --------------------------------------------------------------------------
def test_real_example_disks() -> None:
    disks = [parse_disk(i) for i in example(scenario.DISKS)["value"]]
    assert [(d.name, d.encryption_type, d.customer_managed_key, d.ade_enabled) for d in disks] == [
        ("myManagedDisk1", "EncryptionAtRestWithPlatformKey", False, True),
        ("myManagedDisk2", "EncryptionAtRestWithPlatformKey", False, False),
        ("myManagedDisk3", "EncryptionAtRestWithPlatformKey", False, True),
    ]


def _vm() -> Json:
    item: Json = example(scenario.VMS)["value"][0]
    return item


def test_patch_status_from_the_instance_view() -> None:
    view = scenario.instance_view(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), 3, 5)
    found = parse_patch_status(_vm(), view, NOW)
    assert (found.error, found.assessment_status, found.critical_security_pending) == (
        None, "Succeeded", 3)  # fmt: skip
    assert (found.other_pending, found.assessed_days_ago, found.os_type) == (5, 2.0, "Windows")


def test_no_or_failed_assessment_is_unknown_never_zero() -> None:
    missing = parse_patch_status(_vm(), {"statuses": []}, NOW)
    assert missing.error == "no patch assessment in the VM's instance view"
    assert missing.critical_security_pending is None
    view = scenario.instance_view(NOW, 0, 0)
    view["patchStatus"]["availablePatchSummary"]["status"] = "Failed"
    failed = parse_patch_status(_vm(), view, NOW)
    assert failed.error == "last patch assessment status is Failed"
    assert failed.critical_security_pending is None


def test_arm_times_with_seven_fraction_digits() -> None:
    assert parse_time("2016-12-28T04:41:35.9278721+00:00") == datetime(
        2016, 12, 28, 4, 41, 35, 927872, tzinfo=UTC
    )
    assert parse_time("garbage") is None


# -- Defender, backup, SQL, locations -------------------------------------------------
def test_real_example_pricings() -> None:
    plans = {p.name: p.tier for p in parse_pricings(example(scenario.PRICINGS)["value"], "s")}
    assert plans["VirtualMachines"] == "Standard"
    assert plans["AppServices"] == "Free"
    assert len(plans) == 13


def test_core_plans_missing_from_the_answer_are_unknown() -> None:
    plans = parse_pricings([], "sub")
    assert [(p.name, p.tier) for p in plans] == [
        ("Containers", None), ("SqlServers", None), ("StorageAccounts", None),
        ("VirtualMachines", None),
    ]  # fmt: skip
    assert plans[0].id == "/subscriptions/sub/providers/Microsoft.Security/pricings/Containers"


def test_real_example_vault_and_storage_config() -> None:
    full = parse_vault(example(scenario.VAULT))
    assert (full.redundancy, full.soft_delete_enabled, full.immutability) == (
        "GRS",
        True,
        "Disabled",
    )
    assert full.cross_region_restore is True
    listed = example(scenario.VAULT_LIST)["value"][0]
    assert parse_vault(listed).redundancy is None
    assert parse_vault(listed, example(scenario.STORAGE_CONFIG)).redundancy == "GRS"
    assert parse_vault(listed).soft_delete_enabled is None


def test_protected_items_point_at_vms_case_insensitively() -> None:
    items: list[Json] = [{"properties": {"sourceResourceId": "/S/RG/VM1"}}, {"properties": {}}]
    assert protected_vm_ids(items) == frozenset({"/s/rg/vm1"})


def test_replica_locations_per_database() -> None:
    links = [
        {"id": "/x/servers/s/databases/orders/replicationLinks/1",
         "properties": {"partnerLocation": "UAE North"}},
        {"id": "/x/servers/s/databases/other/replicationLinks/2",
         "properties": {"partnerLocation": "westeurope"}},
        {"id": "/x/servers/s/databases/orders/replicationLinks/3", "properties": {}},
    ]  # fmt: skip
    assert replica_locations(links, "Orders") == ("uaenorth", "unknown")
    assert replica_locations(links, "none") == ()


def test_location_table_from_arm() -> None:
    table = parse_locations([scenario.location(*row) for row in scenario.LOCATIONS])
    assert table.place("UAE North").label == "AE"
    assert table.pair_of("uaenorth") == ("uaecentral",)
    assert table.place("uae").label == "logical:uae"
    assert table.place("global").label == "global:global"
    assert table.place("saudiarabiacentral").label == "unknown:saudiarabiacentral"
    # ARM's Logical wins over a table row that would make it a country.
    logical = parse_locations([{"name": "uaenorth", "metadata": {"regionType": "Logical"}}])
    assert logical.place("uaenorth").label == "logical:uaenorth"


def test_tags_and_ids() -> None:
    assert merge_tags({"Data-Classification": "internal"}, {"data-classification": "public"}) == {
        "data-classification": "public"
    }
    assert location_code("West US") == "westus" and location_code("") is None
    assert resource_group("/subscriptions/s/resourcegroups/RG1/providers/x") == "RG1"


def test_encryption_at_host_is_read_from_the_vm_model() -> None:
    vm = _vm()
    assert parse_patch_status(vm, None, NOW).encryption_at_host is False  # ARM omits it when off
    vm["properties"]["securityProfile"] = {"encryptionAtHost": True}
    found = parse_patch_status(vm, None, NOW)
    assert found.encryption_at_host is True and found.error is not None  # no view: still known
