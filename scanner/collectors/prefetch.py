"""Warm a host's command cache before its checks run: the commands the plan's collectors
declare go out in one exec channel (two when some need root: ``id -u`` must come back first to
tell whether they run through sudo), instead of one channel per command.

Collectors then find their results in the transport's cache and run exactly as before; a
command the batch did not establish runs on its own when a collector asks for it.
``SOUQSCAN_BATCH=0`` in the environment turns batching off (every command on its own channel,
as before), for comparing the two paths or working around a target whose shell misbehaves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from scanner.collectors import Collector
from scanner.transports.base import ID_COMMAND, Command, Transport

SWITCH = "SOUQSCAN_BATCH"

log = logging.getLogger("souqscan.prefetch")


def batching_enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip() != "0"


def declared(collectors: Iterable[Collector[Any, Any]]) -> list[Command]:
    """Every command the collectors declare, once each, in their order."""
    seen: dict[tuple[tuple[str, ...], bool], Command] = {}
    for source in collectors:
        for command in source.commands:
            seen.setdefault((command.argv, command.privileged), command)
    return list(seen.values())


def rounds(commands: list[Command]) -> list[list[Command]]:
    """The batches to send, in order: what needs root waits for ``id -u``."""
    plain = [c for c in commands if not c.privileged]
    privileged = [c for c in commands if c.privileged]
    if not privileged:
        return [plain] if plain else []
    return [[*plain, ID_COMMAND], privileged]


def warm(transport: Transport, collectors: Iterable[Collector[Any, Any]]) -> None:
    """Prefetch the collectors' declared commands. Never raises: at worst nothing is cached
    and every command runs on its own, with its own error."""
    if not transport.batching or not batching_enabled():
        return
    try:
        for batch in rounds(declared(collectors)):
            transport.prefetch(batch)
    except Exception:  # a bug here must cost speed, never findings
        log.debug("prefetch on %s failed", transport.target, exc_info=True)
