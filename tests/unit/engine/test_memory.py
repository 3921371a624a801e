"""Process-wide memory settings: glibc's arena cap, and botocore models without their docs."""

from __future__ import annotations

import os
import subprocess
import sys

from scanner.clouds import aws, aws_models

PROBE = "from scanner.memory import limit_malloc_arenas as f; print(f())"


def _probe(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_malloc_arenas_are_capped_unless_the_operator_chose() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _probe(env) == "True"  # this machine's Python runs on glibc
    assert _probe({**env, "MALLOC_ARENA_MAX": "8"}) == "False"


def test_service_models_keep_their_shape_but_not_their_reference_text() -> None:
    model = aws_models.shared_loader().load_service_model("ec2", "service-2")
    operation = model["operations"]["DescribeInstances"]
    assert operation["documentation"] == ""
    assert model["shapes"]["DescribeInstancesResult"]["members"]["Reservations"]["shape"]
    texts: list[object] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            texts.extend(v for k, v in node.items() if k == "documentation" and v)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model)
    assert texts == []
    # A client built on it still describes its operations (docstrings are made lazily).
    session = aws.AwsSession(aws.SessionOptions(endpoint_url="http://127.0.0.1:9"))
    client = session.client("ec2", "me-west-1")
    assert client.meta.service_model.operation_model("DescribeInstances").output_shape
    assert isinstance(client.describe_instances.__doc__, str)


def test_collector_leaves_imports_frozen_and_collects_young_objects_less_often() -> None:
    code = (
        "import gc; from scanner.memory import tune_collector as t; t();"
        " print(gc.get_threshold()[0], gc.get_freeze_count() > 1000)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["20000", "True"]


def test_a_host_scan_does_not_import_the_aws_sdk() -> None:
    # boto3 and botocore's parsers take some 0.2 s to import: paid only when AWS is scanned.
    code = (
        "import sys; import scanner.cli; from scanner.shards import installed_registry as r;"
        " r(); sdk = ('boto3', 'botocore.session', 'botocore.parsers');"
        " print(sorted(m for m in sdk if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
