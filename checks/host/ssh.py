"""encryption_in_transit: effective sshd settings."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.sshd import SshdConfig, sshd
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.ssh.effective_config",
    title="Effective OpenSSH server settings",
    category=Category.ENCRYPTION_IN_TRANSIT,
    applies_to=TargetKind.HOST,
    collector=sshd,
    reports={
        "password_authentication": "bool",
        "permit_root_login": "string",
        "permit_empty_passwords": "bool",
        "ciphers": "list",
        "macs": "list",
        "kex_algorithms": "list",
        "source": "string",
    },
)
def effective_config(config: SshdConfig) -> Iterator[Observation]:
    if not config.installed:
        yield Observation.skipped("sshd", "no OpenSSH server installed")
        return
    s = config.settings
    yield Observation.of(
        "sshd",
        password_authentication=_yes(s.get("passwordauthentication")),
        permit_root_login=s.get("permitrootlogin"),
        permit_empty_passwords=_yes(s.get("permitemptypasswords")),
        # Without `sshd -T` unset algorithm lists mean OpenSSH's safe defaults: nothing weak.
        ciphers=config.words("ciphers"),
        macs=config.words("macs"),
        kex_algorithms=config.words("kexalgorithms"),
        source=config.source,
    )


def _yes(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("yes", "no"):
        return value.lower() == "yes"
    return None  # an unexpected word is "could not determine", never a pass
