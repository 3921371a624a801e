"""A Transport that replays captured command outputs, for testing collectors' orchestration.

Strict, unlike the mock loaders we avoid: a command with no recorded answer fails the test
(it never pretends to be "exit 1, not installed").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scanner.errors import ObservationError
from scanner.transports.base import ENV_PREFIX, SUDO_PREFIX, CommandResult, Transport

Answer = CommandResult | ObservationError | tuple[int, str] | str


class ReplayTransport(Transport):
    def __init__(
        self, answers: Mapping[tuple[str, ...], Answer], *, root: bool = True, sudo: bool = False
    ) -> None:
        super().__init__("replay", sudo=sudo)
        self.answers = dict(answers)
        self._uid = 0 if root else 1000
        self.calls: list[tuple[str, ...]] = []

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        words = tuple(argv)
        if words[: len(SUDO_PREFIX)] == SUDO_PREFIX:
            words = words[len(SUDO_PREFIX) :]
        assert words[: len(ENV_PREFIX)] == ENV_PREFIX, words
        key = words[len(ENV_PREFIX) :]
        self.calls.append(key)
        if key not in self.answers:
            raise AssertionError(f"no recorded answer for {key!r}")
        answer = self.answers[key]
        if isinstance(answer, ObservationError):
            raise answer
        if isinstance(answer, CommandResult):
            return answer
        if isinstance(answer, str):
            return CommandResult(key, 0, answer.encode(), b"")
        status, text = answer
        return CommandResult(
            key, status, b"" if status else text.encode(), text.encode() if status else b""
        )

    def close(self) -> None:
        """Nothing to close."""
