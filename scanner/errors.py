"""Error taxonomy. SDK, SSH and command errors are translated into these once, at the edge."""

from __future__ import annotations


class SouqscanError(Exception):
    """Base of every error souqscan raises on purpose."""


class UsageError(SouqscanError):
    """Bad input from the user: exit code 2."""


class BaselineError(UsageError):
    """An invalid baseline, reported as ``file:line: message``."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class DuplicateCheckIdError(SouqscanError):
    def __init__(self, check_id: str, first: str, second: str) -> None:
        super().__init__(f"check id {check_id!r} is defined twice: in {first} and in {second}")


class ObservationError(SouqscanError):
    """Could not look. Every rule fed by the failed collector becomes ERROR with this reason."""

    kind = "error"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TargetUnreachable(ObservationError):
    kind = "unreachable"


class HostKeyError(ObservationError):
    kind = "host-key"


class AuthenticationFailed(ObservationError):
    kind = "auth"


class AccessDenied(ObservationError):
    kind = "access-denied"


class PrivilegeRequired(ObservationError):
    kind = "privilege"


class Throttled(ObservationError):
    kind = "throttled"


class CommandNotFound(ObservationError):
    kind = "command-missing"


class CommandTimedOut(ObservationError):
    kind = "timeout"


class OutputTooLarge(ObservationError):
    kind = "output-too-large"


class UnparsableOutput(ObservationError):
    kind = "unparsable"
