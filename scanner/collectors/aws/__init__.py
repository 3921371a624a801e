"""AWS collectors: one module per service, each a thin read through ``AwsAccount`` plus pure
parsers over the response dicts, producing immutable facts for one account.

Every module declares ``PERMISSIONS``: the read-only IAM actions it calls. ``policy()``
unions them into the least-privilege policy that ``souqscan aws --print-iam-policy`` prints.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from scanner.clouds.aws import Policy

# STS GetCallerIdentity needs no permission, but listing it documents what is called.
SESSION_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")


def modules() -> list[ModuleType]:
    """Every collector module of this package (imported lazily: nothing runs at import)."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
        if info.name != "common"
    ]


def permissions() -> dict[str, tuple[str, ...]]:
    """Module name -> the IAM actions it declares."""
    return {m.__name__: tuple(getattr(m, "PERMISSIONS", ())) for m in modules()}


def policy() -> Policy:
    actions = {a for found in permissions().values() for a in found} | set(SESSION_PERMISSIONS)
    return Policy(tuple(sorted(actions)))
