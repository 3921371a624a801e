"""The inventory: validated whole, with file:line errors, before anything is scanned."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scanner import inventory
from scanner.errors import UsageError
from scanner.transports.ssh import HostSpec

GOOD = """\
defaults:
  labels: {owner: secops@example.sa}
  hosts: {user: scan, identity: keys/scan, known_hosts: /etc/souqscan/known_hosts}
targets:
  - name: riyadh-db
    hosts:
      addresses: [10.1.0.5, "ops@10.1.0.6:2222", "[fd00::7]"]
      port: 2200
      jump: bastion.example.sa
      sudo: true
    labels: {country: sa, site: RUH1, data-classification: regulated}
  - name: prod-aws
    aws: {profile: prod, regions: [me-west-1, me-central-1]}
    labels: {data-classification: confidential}
  - name: azure-main
    azure: {subscriptions: [00000000-0000-0000-0000-000000000000]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "estate.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_inventory(tmp_path: Path) -> None:
    inv = inventory.load(write(tmp_path, GOOD))
    db, aws, azure = inv.entries
    assert db.hosts is not None and db.hosts.addresses == (
        HostSpec("10.1.0.5", "scan", 2200),
        HostSpec("10.1.0.6", "ops", 2222),
        HostSpec("fd00::7", "scan", 2200),
    )
    assert db.hosts.identity == tmp_path / "keys" / "scan"  # relative to the inventory file
    assert db.hosts.jump == HostSpec("bastion.example.sa", "scan", 22)
    assert db.labels == {
        "owner": "secops@example.sa",
        "country": "SA",
        "site": "RUH1",
        "data-classification": "regulated",
    }
    assert aws.aws is not None and aws.aws.regions == ("me-west-1", "me-central-1")
    assert azure.azure is not None and azure.kind == "azure"
    assert [e.name for e in inv.select(["*-aws", "riyadh-*"])] == ["riyadh-db", "prod-aws"]
    with pytest.raises(UsageError, match="matches no inventory entry"):
        inv.select(["nothing*"])


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "targets:\n  - name: a\n    hosts: {addresses: [h], user: u, secret_key: x}\n",
            3,
            "secrets are never written in the inventory",
        ),
        ("targets:\n  - name: a\n    hosts: {addresses: [h]}\n", 3, "no user"),
        (
            "targets:\n  - name: a\n    aws: {}\n    azure: {all_subscriptions: true}\n",
            2,
            "exactly one of hosts, aws, azure",
        ),
        (
            "targets:\n  - name: a\n    aws: {}\n  - name: a\n    aws: {}\n",
            4,
            "duplicate target name",
        ),
        ("targets:\n  - name: a\n    aws: {}\n    labels: {country: Saudi}\n", 4, "ISO 3166"),
        ("targets:\n  - name: a\n    aws: {}\n    labels: {colour: red}\n", 4, "unknown label"),
        ("targets:\n  - name: a\n    azure: {}\n", 3, "name subscriptions"),
        ("targets:\n  - name: a\n    aws: {role_arn: arn}\n", 3, "unknown aws key 'role_arn'"),
        (
            "targets:\n  - name: a\n    hosts: {addresses: [h], user: u, port: 70000}\n",
            3,
            "TCP port",
        ),
        ("targets: []\n", 1, "no targets"),
        ("hosts: [a]\n", 1, "'targets' list"),
    ],
)
def test_bad_inventory(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(inventory.InventoryError) as info:
        inventory.load(path)
    assert fragment in info.value.message and info.value.line == line, str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_labels_on_the_command_line() -> None:
    assert inventory.parse_labels(["country=sa", "data-classification=internal"]) == {
        "country": "SA",
        "data-classification": "internal",
    }
    for bad in ("country", "colour=red", "country=KSA"):
        with pytest.raises(UsageError):
            inventory.parse_labels([bad])
