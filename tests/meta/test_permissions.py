"""souqscan is read-only: the grants it asks for contain nothing that can change a target."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.cli import run_souqscan

READ_ONLY = {
    "aws": re.compile(r"^[a-z0-9-]+:(Describe|Get|List|BatchGet|Head)[A-Za-z0-9]*$"),
    "azure": re.compile(r"^Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/read$"),
}


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_permissions_command_prints_only_read_actions(provider: str) -> None:
    result = run_souqscan(["permissions", provider])
    assert result.code == 0, result.explain()
    document = json.loads(result.stdout)
    if provider == "aws":
        actions = [a for statement in document["Statement"] for a in statement["Action"]]
        assert all(s["Effect"] == "Allow" for s in document["Statement"])
    else:
        actions = document["Actions"]
        assert document.get("NotActions", []) == [] and document.get("DataActions", []) == []
    assert actions, "an empty grant would make every check ERROR"
    wrong = [a for a in actions if not READ_ONLY[provider].match(a)]
    assert wrong == []
