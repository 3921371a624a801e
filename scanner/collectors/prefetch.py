"""Warm a host's command cache before its checks run: a few batches, all sent to one shell kept
open on one exec channel (``SshTransport``), instead of one channel per command.

1. The commands the plan's collectors declare go out in one batch; what needs root waits for
   the second, since ``id -u`` (in the first) tells whether it runs through sudo.
2. Then the collectors are replayed against the cache alone (``Transport.discovering``): each
   stops at the first command it does not have yet, and names it. Those go out together in
   the next batch, and so on for a few rounds. A replay names the command the real run would
   send next, from the same outputs, plus a collector's own hints (``Transport.prefetch``) of
   what it needs a level deeper on nearly every host (the apt listing's first reads with the
   index age, /etc/sudoers.d with /etc/sudoers): a round trip less for a command or two that
   goes unused on the rare host without them.

Collectors then find their results in the transport's cache and run exactly as before; a
command no batch established runs on its own when a collector asks for it, with its own error.
``SOUQSCAN_BATCH=0`` in the environment turns batching off (every command on its own channel,
as before), for comparing the two paths or working around a target whose shell misbehaves.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

from scanner.collectors import Collector
from scanner.transports.base import ID_COMMAND, Command, NotPrefetched, Transport

SWITCH = "SOUQSCAN_BATCH"
# Replay rounds after the declared batches: each reaches one command deeper into what
# collectors decide from earlier output. Deeper commands run on their own.
DISCOVERY_ROUNDS = 3

log = logging.getLogger("souqscan.prefetch")

Key = tuple[tuple[str, ...], bool]


def batching_enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip() != "0"


def _key(command: Command) -> Key:
    return (command.argv, command.privileged)


def unique(commands: Iterable[Command]) -> list[Command]:
    """Once each (argv and privilege), first occurrence first."""
    seen: dict[Key, Command] = {}
    for command in commands:
        seen.setdefault(_key(command), command)
    return list(seen.values())


def declared(collectors: Iterable[Collector[Any, Any]]) -> list[Command]:
    """Every command the collectors declare, once each, in their order."""
    return unique(command for source in collectors for command in source.commands)


def rounds(commands: list[Command]) -> list[list[Command]]:
    """The declared batches, in order: what needs root waits for ``id -u``."""
    plain = [c for c in commands if not c.privileged]
    privileged = [c for c in commands if c.privileged]
    if not privileged:
        return [plain] if plain else []
    return [[*plain, ID_COMMAND], privileged]


def discover(
    transport: Transport, collectors: Sequence[Collector[Any, Any]], done: dict[str, Any]
) -> list[Command]:
    """The next command each collector would send, given what the cache holds now. A
    collector that needs nothing more has its result put in ``done`` (by name), and is not
    replayed again: from the same cached outputs, the real run would compute the same."""
    with transport.discovering() as wanted:
        for source in collectors:
            if source.name in done:
                continue
            # An error is an answer already cached (or a bug): the real run reports it.
            with contextlib.suppress(NotPrefetched, Exception):
                done[source.name] = source.of(transport)
    return unique(wanted)


def warm(transport: Transport, collectors: Iterable[Collector[Any, Any]]) -> dict[str, Any]:
    """Prefetch what the collectors will run; return, by collector name, the results of those
    a replay already completed. Never raises: at worst nothing is cached and every command
    runs on its own, with its own error."""
    done: dict[str, Any] = {}
    if not batching_enabled():
        transport.batching = False  # the collectors' own prefetch hints too
    if not transport.batching:
        return done
    sources = list({source.name: source for source in collectors}.values())
    try:
        batches = rounds(declared(sources))
        sent: set[Key] = set()
        pending: list[Command] = []
        for round_number in range(len(batches) + DISCOVERY_ROUNDS):
            if round_number < len(batches):
                pending = unique([*pending, *batches[round_number]])
            if round_number > 0:  # after the first batch, replay: who needs what next?
                found = discover(transport, sources, done)
                pending = unique([*pending, *(c for c in found if _key(c) not in sent)])
            if not pending:
                break
            transport.prefetch(pending)
            sent.update(_key(c) for c in pending)
            pending = []
    except Exception:  # a bug here must cost speed, never findings
        log.debug("prefetch on %s failed", transport.target, exc_info=True)
        done.clear()
    return done
