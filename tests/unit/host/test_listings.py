"""Several directories listed by one ls: this machine's own ls over real directories, and what
GNU ls printed for a directory its user could not open (captured as the nobody user)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.collectors.host.services import (
    list_directories,
    list_directory,
    listing_command,
    listings_command,
)
from scanner.errors import PrivilegeRequired
from scanner.transports.base import CommandResult
from scanner.transports.local import LocalTransport
from tests.replay import ReplayTransport


class CountingLocal(LocalTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, ...]] = []

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        self.sent.append(tuple(argv))
        return super()._execute(argv, timeout)


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    full, empty, other = tmp_path / "a", tmp_path / "e", tmp_path / "c"
    for directory in (full, empty, other):
        directory.mkdir()
    for name in ("x.conf", "y z.conf", ".hidden", "b.conf"):
        (full / name).write_text("")
    (other / "z.conf").write_text("")
    (tmp_path / "plain").write_text("")
    return {"full": full, "empty": empty, "other": other, "file": tmp_path / "plain"}


def test_one_ls_lists_every_directory_and_says_which_are_missing(
    tree: dict[str, Path], tmp_path: Path
) -> None:
    # Given in an order ls does not print them in (it sorts its operands).
    dirs = [str(tree["other"]), str(tmp_path / "missing"), str(tree["full"]), str(tree["empty"])]
    transport = CountingLocal()
    listed = list_directories(transport, dirs)
    assert listed == {
        dirs[0]: ["z.conf"],
        dirs[1]: None,
        dirs[2]: [".hidden", "b.conf", "x.conf", "y z.conf"],
        dirs[3]: [],
    }
    assert list(listed) == dirs  # in the order given: the first directory's file wins
    assert [argv[-len(dirs) - 3 :] for argv in transport.sent] == [listings_command(dirs).argv]
    assert listed == {d: list_directory(LocalTransport(), d) for d in dirs}


def test_a_listing_not_read_plainly_falls_back_to_one_ls_per_directory(
    tree: dict[str, Path],
) -> None:
    # ls prints a file operand's own name before any directory: not a listing of directories.
    dirs = [str(tree["full"]), str(tree["file"])]
    transport = CountingLocal()
    listed = list_directories(transport, dirs)
    assert listed == {dirs[0]: [".hidden", "b.conf", "x.conf", "y z.conf"], dirs[1]: [dirs[1]]}
    sent = [argv[-len(dirs) - 3 :] for argv in transport.sent]
    assert sent[0] == listings_command(dirs).argv
    assert [argv[-4:] for argv in transport.sent[1:]] == [listing_command(d).argv for d in dirs]


def test_relative_directories_are_listed_one_by_one(
    tree: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name "c:" in a could otherwise pass for the line before c's names.
    (tree["full"] / "c:").write_text("")
    monkeypatch.chdir(tree["full"].parent)
    transport = CountingLocal()
    listed = list_directories(transport, ["a", "c"])
    assert listed == {"a": [".hidden", "b.conf", "c:", "x.conf", "y z.conf"], "c": ["z.conf"]}
    assert [argv[-4:] for argv in transport.sent] == [listing_command(d).argv for d in "ac"]


def test_a_directory_the_login_cannot_open_needs_privilege() -> None:
    dirs = ("/tmp/p7/lt/a", "/tmp/p7/pd/locked")
    transport = ReplayTransport(
        {
            listings_command(dirs).argv: CommandResult(
                listings_command(dirs).argv,
                2,
                b"/tmp/p7/lt/a:\nx.conf\ny z.conf\n",
                b"ls: cannot open directory '/tmp/p7/pd/locked': Permission denied\n",
            )
        }
    )
    with pytest.raises(PrivilegeRequired, match="locked"):
        list_directories(transport, dirs)
