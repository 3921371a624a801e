"""Which data stores an AWS Backup plan assigns, per region: inventory x plan selections."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.backup import BackupRegion, backup
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.inventory import Inventory, inventory

PERMISSIONS: tuple[str, ...] = ()  # reads through the inventory and backup collectors


@dataclass(frozen=True)
class Coverage:
    inventory: Inventory
    backup: Regional[BackupRegion]


@collector("aws.backup_coverage")
def backup_coverage(account: AwsAccount) -> Coverage:
    """The inventory's data stores beside each region's backup plans (both cached)."""
    return Coverage(inventory.collect(account), backup.collect(account))
