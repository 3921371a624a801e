"""Meta-tests: the registry, the shipped baselines and the checks agree with each other."""

from __future__ import annotations

import socket
import subprocess
import types
from typing import Any

import pytest

from scanner.baseline import loader
from scanner.collectors import collector
from scanner.errors import DuplicateCheckIdError
from scanner.model import Category, Observation, TargetKind
from scanner.registry import CHECK_ID, Registry, RegistryError, check


def _fake_module(name: str, check_id: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @collector("test.nothing")
    def nothing(_connection: Any) -> None:
        return None

    def observe(_fact: None) -> list[Observation]:
        return []

    observe.__module__ = name
    module.item = check(  # type: ignore[attr-defined]
        check_id,
        title="t",
        category=Category.FIREWALL,
        applies_to=TargetKind.HOST,
        collector=nothing,
        reports={"x": "bool"},
    )(observe)
    return module


def test_duplicate_check_id_is_a_hard_error_naming_both_modules() -> None:
    with pytest.raises(DuplicateCheckIdError, match="plugin_a and in plugin_b"):
        Registry.from_modules(
            [_fake_module("plugin_a", "host.x.y"), _fake_module("plugin_b", "host.x.y")]
        )


def test_malformed_check_id_is_refused() -> None:
    with pytest.raises(RegistryError, match="not dotted lowercase"):
        Registry.from_modules([_fake_module("plugin_c", "Host.X")])


def test_loading_the_registry_runs_no_command_and_opens_no_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the registry must not touch the network or run commands")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    registry = Registry.installed()
    assert registry.checks


def test_every_check_id_is_well_formed_and_described() -> None:
    for check_id, item in Registry.installed().checks.items():
        assert CHECK_ID.match(check_id), check_id
        assert item.title and item.reports, check_id
        assert check_id.split(".")[0] == item.applies_to.value
        assert item.collector.name, check_id


def test_default_baseline_loads_and_covers_every_host_check() -> None:
    registry = Registry.installed()
    baseline = loader.load(loader.DEFAULT_BASELINE, registry)
    judged = {r.check_id for r in baseline.rules}
    host_checks = {c.id for c in registry.select(kind=TargetKind.HOST)}
    assert host_checks <= judged, (
        f"host checks no default rule judges: {sorted(host_checks - judged)}"
    )
    for rule in baseline.rules:
        reported = registry.checks[rule.check_id].reports
        for cond in (*rule.expect, *rule.when):
            assert cond.attribute in reported, (rule.id, cond.attribute)
        assert any(c.startswith("ISO27001:2022/") for c in rule.controls), rule.id
        assert any(c.startswith("ISO27001:2013/") for c in rule.controls), rule.id


def test_every_shipped_baseline_validates() -> None:
    registry = Registry.installed()
    for bid in loader.shipped():
        assert loader.load(bid, registry).rules
