"""moto's server as the tests and the benchmark run it: 127.0.0.1 only, me-west-1 answered
and given zones, the Gulf regions opted in (testing.md §1)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

# moto has no API to opt in to a region and lists the Gulf ones as not-opted-in; the planted
# account opted in to both, as a Gulf customer would.
OPTED_IN = ("me-central-1", "me-south-1")
# moto 5.2 answers me-west-1 (with MOTO_ALLOW_NONEXISTENT_REGION) but knows no zone there, so
# no default subnet and no instance: give it three, named as AWS names zone ids. It stays
# unlisted by DescribeRegions, which exercises the "Gulf region scanned even when unlisted" path.
SAUDI = ("me-west-1", "mew1")


@contextmanager
def running() -> Iterator[tuple[str, int]]:
    """Start ThreadedMotoServer on 127.0.0.1 (its default is 0.0.0.0); stop it on exit."""
    # me-west-1 answers only with this in the server process's environment (testing.md §1).
    os.environ["MOTO_ALLOW_NONEXISTENT_REGION"] = "true"
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone
    from moto.server import ThreadedMotoServer

    for region in RegionsAndZonesBackend.regions:
        if region.name in OPTED_IN:
            region.opt_in_status = "opted-in"
    name, short = SAUDI
    RegionsAndZonesBackend.zones.setdefault(
        name,
        [
            Zone(region_name=name, name=f"{name}{x}", zone_id=f"{short}-az{i}")
            for i, x in enumerate("abc", 1)
        ],
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield (host, port)
    finally:
        server.stop()
