"""Where a host runs, as declared in the inventory: no command can establish a country."""

from __future__ import annotations

from collections.abc import Mapping

from scanner.collectors import collector
from scanner.transports.base import Transport


@collector("host.site", "the host's declared country, site and labels (from the inventory)")
def site(transport: Transport) -> Mapping[str, str]:
    return dict(transport.labels)
