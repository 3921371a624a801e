"""botocore's service models, loaded once per process and without their reference text."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import botocore.loaders


class _LeanLoader(botocore.loaders.Loader):  # type: ignore[misc]  # botocore is untyped
    """botocore's loader, emptying the API reference text in service models: a third of
    their size in memory (EC2's alone is 14 MB as Python objects), read only to write
    docstrings. Only string values: a member named ``documentation`` is a mapping."""

    @botocore.loaders.instance_cache  # type: ignore[untyped-decorator]  # stripped once per model
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        model = super().load_service_model(service_name, type_name, api_version)
        if type_name == "service-2":
            _drop_documentation(model)
        return model


def _drop_documentation(node: Any) -> None:
    if isinstance(node, dict):
        for key in ("documentation", "documentationUrl"):
            if isinstance(node.get(key), str):
                node[key] = ""  # emptied, not removed: botocore indexes some of them
        for value in node.values():
            _drop_documentation(value)
    elif isinstance(node, list):
        for value in node:
            _drop_documentation(value)


@functools.cache
def shared_loader() -> botocore.loaders.Loader:
    # As botocore.loaders.create_loader reads AWS_DATA_PATH, with the lean class.
    paths = os.environ.get("AWS_DATA_PATH", "")
    extra = [str(Path(os.path.expandvars(p)).expanduser()) for p in paths.split(os.pathsep)]
    return _LeanLoader(extra_search_paths=extra if paths else None)
