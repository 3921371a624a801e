"""ids: host intrusion detection and integrity tools (Policy §4)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.ids import IdsFacts, ids
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.ids.present",
    title="A host IDS or integrity tool is running and configured",
    category=Category.IDS,
    applies_to=TargetKind.HOST,
    collector=ids,
    reports={
        "installed_tools": "list",
        "running_tools": "list",
        "installed_not_running": "list",
        "effective_tools": "list",
        "method": "string",
    },
)
def present(facts: IdsFacts) -> Iterator[Observation]:
    installed = [t for t in facts.tools if t.installed]
    running = [t.name for t in facts.tools if t.running]
    # Effective = running and configured; a tool we have no probe for counts on running alone.
    # If none is effective but some tool's configuration could not be read, the answer is
    # unknown (ERROR), never "none".
    effective = [t.name for t in facts.tools if t.running and (t.configured or not t.config_probed)]
    unknown = [
        t.name for t in facts.tools if t.running and t.config_probed and t.configured is None
    ]
    yield Observation.of(
        "ids",
        installed_tools=[t.name for t in installed],
        running_tools=running,
        installed_not_running=[t.name for t in installed if not t.running],
        effective_tools=None if unknown and not effective else effective,
        method=facts.method,
    )


@check(
    "host.ids.tool_state",
    title="Each installed IDS or integrity tool is running and configured",
    category=Category.IDS,
    applies_to=TargetKind.HOST,
    collector=ids,
    reports={
        "installed": "bool",
        "running": "bool",
        "configured": "bool",
        "config_probed": "bool",
        "detail": "string",
    },
    # A host with none installed has nothing to report here; host.ids.present judges that.
    empty_ok=True,
)
def tool_state(facts: IdsFacts) -> Iterator[Observation]:
    for tool in facts.tools:
        resource = f"ids:{tool.name}"
        if tool.installed is None:
            yield Observation.unverified(resource, f"cannot tell whether installed: {tool.detail}")
        elif tool.installed:
            yield Observation.of(
                resource,
                installed=True,
                running=tool.running,
                configured=tool.configured,
                config_probed=tool.config_probed,
                detail=tool.detail,
            )
