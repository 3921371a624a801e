"""The batch script and its section parser: the script runs under a real /bin/sh, and the
parser is fed what it printed, whole, byte by byte, cut short, or tampered with."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.errors import CommandTimedOut, OutputTooLarge
from scanner.transports.base import ENV_PREFIX, BatchEntry, Command, CommandResult
from scanner.transports.framing import (
    MAX_PREAMBLE,
    BatchParser,
    Outcome,
    backstop_argv,
    backstop_seconds,
    build_script,
    new_nonce,
    outcomes,
    session_script,
)


def entries(*argvs: Sequence[str], timeout: float = 30.0) -> list[BatchEntry]:
    return [BatchEntry(Command(tuple(argv)), (*ENV_PREFIX, *argv), timeout) for argv in argvs]


def run_script(nonce: str, batch: Sequence[BatchEntry]) -> tuple[bytes, bytes]:
    """The script as a target runs it: /bin/sh reading it on stdin."""
    proc = subprocess.run(
        ["/bin/sh", "-s"], input=build_script(nonce, batch), capture_output=True, timeout=60
    )
    return proc.stdout, proc.stderr


def parse(
    nonce: str, batch: Sequence[BatchEntry], out: bytes, err: bytes, **limits: int
) -> tuple[BatchParser, dict[int, Outcome]]:
    parser = BatchParser(nonce, len(batch), **limits)
    parser.feed_stdout(out)
    parser.feed_stderr(err)
    return parser, outcomes(parser, batch)


def result(found: dict[int, Outcome], index: int) -> CommandResult:
    outcome = found[index]
    assert isinstance(outcome, CommandResult), outcome
    return outcome


SHELL = ("sh", "-c")


def test_each_command_gets_its_own_streams_and_status() -> None:
    nonce = new_nonce()
    batch = entries(
        (*SHELL, "printf 'one\\ntwo\\n'; echo warn >&2"),
        (*SHELL, "printf 'no newline at the end'; exit 3"),
        (*SHELL, "printf 'a\\377\\376b\\000c' ; printf '\\201' >&2"),  # not UTF-8, NUL
        (*SHELL, "exit 0"),
    )
    out, err = run_script(nonce, batch)
    parser, found = parse(nonce, batch, out, err)
    assert parser.finished and parser.error is None
    assert sorted(found) == [0, 1, 2, 3]
    first = result(found, 0)
    assert (first.exit_status, first.stdout, first.stderr) == (0, b"one\ntwo\n", b"warn\n")
    assert result(found, 0).argv == batch[0].argv
    second = result(found, 1)
    assert (second.exit_status, second.stdout, second.stderr) == (3, b"no newline at the end", b"")
    third = result(found, 2)
    assert (third.stdout, third.stderr) == (b"a\xff\xfeb\x00c", b"\x81")
    assert third.text == "a\ufffd\ufffdb\x00c"
    assert (result(found, 3).stdout, result(found, 3).stderr) == (b"", b"")


def test_feeding_byte_by_byte_gives_the_same_sections() -> None:
    """A marker split across reads (any split) is still found."""
    nonce = new_nonce()
    batch = entries((*SHELL, "echo out; echo err >&2; exit 7"), ("echo", "second"))
    out, err = run_script(nonce, batch)
    whole = parse(nonce, batch, out, err)[0].sections()
    parser = BatchParser(nonce, len(batch))
    for i in range(max(len(out), len(err))):
        parser.feed_stdout(out[i : i + 1])
        parser.feed_stderr(err[i : i + 1])
    assert parser.sections() == whole
    assert [s.exit_status for s in whole] == [7, 0]


def test_arguments_are_quoted_never_evaluated() -> None:
    nonce = new_nonce()
    hostile = "$(touch /tmp/souqscan-pwned) `id` ; rm -rf / 'quote\" \n newline"
    batch = entries(("printf", "%s", hostile))
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err)
    assert result(found, 0).stdout == hostile.encode()


def test_forged_markers_in_output_stay_output() -> None:
    """Output that imitates the framing with any other nonce is just output; the real nonce
    never appears in it, because the target never sees it on a command line."""
    nonce = new_nonce()
    forger = new_nonce()
    fake = (
        f"\\n<<souqscan-{forger} 0 end 0>>\\n<<souqscan-{forger} 1 begin 1>>\\n"
        f"<<souqscan-{nonce[:-1]} 0 end 0>>\\n"
    )
    batch = entries(
        (*SHELL, f"printf '{fake}'; printf '{fake}' >&2; exit 1"), ("echo", "real second")
    )
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err)
    expected = fake.replace("\\n", "\n").encode()
    first = result(found, 0)
    assert (first.exit_status, first.stdout, first.stderr) == (1, expected, expected)
    assert result(found, 1).stdout == b"real second\n"


def test_a_stream_cut_short_keeps_only_complete_sections() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "a"), ("echo", "b"), ("echo", "c"))
    out, err = run_script(nonce, batch)
    cut = out.index(b"b\n")  # in the middle of the second section
    for stop in range(cut - 30, cut + 3):
        parser, found = parse(nonce, batch, out[:stop], err)
        assert not parser.finished
        assert sorted(found) == [0], stop
        assert result(found, 0).stdout == b"a\n"


def test_a_section_missing_on_stderr_is_not_complete() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "a"), ("echo", "b"))
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err[: err.rindex(b" 1 end")])
    assert sorted(found) == [0]


def test_a_huge_section_is_too_large_on_its_own() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "before"), ("head", "-c", "300000", "/dev/zero"), ("echo", "after"))
    out, err = run_script(nonce, batch)
    parser, found = parse(nonce, batch, out, err, limit=100_000)
    assert parser.overflowed == 1 and parser.finished
    assert result(found, 0).stdout == b"before\n"
    assert isinstance(found[1], OutputTooLarge)
    assert "`head -c 300000 /dev/zero` printed more than" in found[1].reason
    assert 2 not in found  # not established: it runs on its own


def test_huge_stderr_counts_too() -> None:
    nonce = new_nonce()
    batch = entries((*SHELL, "head -c 300000 /dev/zero >&2"))
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err, limit=100_000)
    assert isinstance(found[0], OutputTooLarge)


def test_the_whole_batch_is_bounded() -> None:
    nonce = new_nonce()
    batch = entries(*[("head", "-c", "40000", "/dev/zero")] * 5)
    out, err = run_script(nonce, batch)
    parser, found = parse(nonce, batch, out, err, total=100_000)
    assert parser.error is not None and "more than" in parser.error
    assert sorted(found) == [0, 1]  # complete before the budget ran out; the rest run alone
    assert all(len(result(found, i).stdout) == 40000 for i in (0, 1))


def test_shell_chatter_before_the_first_marker_is_dropped_but_bounded() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "x"))
    out, err = run_script(nonce, batch)
    chatter = b"Welcome! \xff motd from .bashrc\n"
    _, found = parse(nonce, batch, chatter + out, chatter + err)
    assert result(found, 0).stdout == b"x\n"
    parser, found = parse(nonce, batch, b"z" * (MAX_PREAMBLE + 10) + out, err)
    assert parser.error is not None and found == {}


def test_garbage_between_sections_stops_the_parse() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "a"), ("echo", "b"))
    out, err = run_script(nonce, batch)
    at = out.index(f"<<souqscan-{nonce} 1 begin".encode())
    parser, found = parse(nonce, batch, out[:at] + b"stray\n" + out[at:], err)
    assert parser.error is not None
    assert sorted(found) == [0]


def test_streams_that_disagree_on_a_status_are_not_trusted() -> None:
    nonce = new_nonce()
    batch = entries(("true",), ("false",))
    out, err = run_script(nonce, batch)
    tampered = err.replace(f"{nonce} 1 end 1>>".encode(), f"{nonce} 1 end 0>>".encode())
    _, found = parse(nonce, batch, out, tampered)
    assert sorted(found) == [0]


def test_the_backstop_kills_a_hung_batch_and_its_command() -> None:
    """The reader gave up on the hung section; the batch's one timeout(1) ends it on the
    target, with the commands after it never started."""
    nonce = new_nonce()
    batch = entries(("sleep", "300"), ("echo", "next"), timeout=0.5)
    proc = subprocess.run(
        backstop_argv(backstop_seconds(batch)),
        input=build_script(nonce, batch),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 124  # timeout(1) stopped it
    parser = BatchParser(nonce, len(batch))
    parser.feed_stdout(proc.stdout)
    parser.feed_stderr(proc.stderr)
    assert parser.out.begun == 1 and parser.completed == 0
    found = outcomes(parser, batch, stuck=0)
    assert isinstance(found[0], CommandTimedOut)
    assert found[0].reason == "`sleep 300` did not finish within 0.5s"
    assert b"next" not in proc.stdout and 1 not in found


def test_the_backstop_allows_every_command_its_own_timeout() -> None:
    argv = backstop_argv(backstop_seconds(entries(("true",), ("true",), timeout=30.0)))
    assert argv == ("timeout", "-k", "5", "61", "/bin/sh", "-s")


def test_a_wrapper_missing_on_the_target_is_the_shells_own_answer() -> None:
    """No timeout(1) in between: the shell's not-found is the section's result, which the
    transport translates (a missing sudo is a privilege problem, not a missing command)."""
    nonce = new_nonce()
    batch = [BatchEntry(Command(("x",)), ("no-such-wrapper-xyz", "x"), 30.0)]
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err)
    assert result(found, 0).exit_status == 127
    assert b"no-such-wrapper-xyz: not found" in result(found, 0).stderr


def test_the_transport_saw_the_running_section_hang() -> None:
    nonce = new_nonce()
    batch = entries(("echo", "a"), ("sleep", "1"), ("echo", "c"), timeout=7)
    out, err = run_script(nonce, batch)
    parser = BatchParser(nonce, len(batch))
    # What had arrived while the second command still ran.
    parser.feed_stdout(out[: out.index(f"\n<<souqscan-{nonce} 1 end".encode())])
    parser.feed_stderr(err)
    found = outcomes(parser, batch, stuck=1)
    assert result(found, 0).stdout == b"a\n"
    assert isinstance(found[1], CommandTimedOut)
    assert found[1].reason == "`sleep 1` did not finish within 7s"
    assert 2 not in found


def test_the_nonce_must_be_hex() -> None:
    with pytest.raises(ValueError):
        build_script("'; reboot; '", entries(("true",)))


def test_a_shell_that_never_began_times_nothing_out() -> None:
    """The whole channel hung before the first marker: no command is blamed for it."""
    nonce = new_nonce()
    batch = entries(("echo", "a"))
    parser = BatchParser(nonce, len(batch))
    parser.feed_stdout(b"a login banner, then silence")
    assert outcomes(parser, batch, stuck=0) == {}


def test_plain_commands_run_with_envs_variables_and_its_answer_when_missing() -> None:
    """env(1) is not exec'd per command: the script exports its variables once, runs the
    external command (never a builtin of the same name), and says what env says when a
    command is missing, so the transport translates both paths alike."""
    nonce = new_nonce()
    batch = entries(
        ("sh", "-c", 'printf "%s %s %s" "$LC_ALL" "$LANG" "$PATH"'),
        ("echo", "--version"),  # dash's builtin echo would print "--version"
        ("no-such-command-xyz", "arg"),
    )
    out, err = run_script(nonce, batch)
    _, found = parse(nonce, batch, out, err)
    assert result(found, 0).stdout == f"C C {ENV_PREFIX[3].removeprefix('PATH=')}".encode()
    assert b"GNU coreutils" in result(found, 1).stdout
    missing = result(found, 2)
    assert missing.exit_status == 127
    assert missing.stderr == b"env: 'no-such-command-xyz': No such file or directory\n"
    assert b"env LC_ALL" not in build_script(nonce, batch)


def test_a_session_runs_batch_after_batch_in_one_shell() -> None:
    """A kept shell: the functions and exports come with the first batch only, each batch has
    its own nonce, and the first batch's output is never taken for the second's."""
    first, second = new_nonce(), new_nonce()
    one = entries((*SHELL, "X=1; echo one"), ("echo", "--version"))
    two = entries((*SHELL, 'printf "%s" "${X:-unset} $LC_ALL"'), ("no-such-command-xyz",))
    script = session_script(first, one, opening=True) + session_script(second, two, opening=False)
    assert b"e() {" not in session_script(second, two, opening=False)
    assert b"exit" not in script.split(b"\n")[-2]  # the shell would go on reading
    proc = subprocess.run(["/bin/sh", "-s"], input=script, capture_output=True, timeout=60)
    assert proc.returncode == 0  # ended by the end of its input, as a closed session is
    _, found_one = parse(first, one, proc.stdout, proc.stderr)
    _, found_two = parse(second, two, proc.stdout, proc.stderr)
    assert result(found_one, 0).stdout == b"one\n"
    assert b"GNU coreutils" in result(found_one, 1).stdout
    assert result(found_two, 0).stdout == b"unset C"  # a command's variables do not persist
    assert result(found_two, 1).exit_status == 127
    # The first batch's output comes before the second nonce's first marker: its preamble.
    assert b"one" not in result(found_two, 0).stdout + result(found_two, 1).stdout


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (CI installs it)")
def test_a_sections_end_and_the_next_ones_begin_are_one_write_per_stream(
    tmp_path: Path,
) -> None:
    """sshd sends each write of the shell as a packet of its own: between two commands the
    shell writes once per stream, so a batch of N commands writes N + 1 markers on each."""
    batch = entries(("true",), ("true",), ("true",), ("true",))
    script = tmp_path / "batch.sh"
    script.write_bytes(build_script(new_nonce(), batch))
    log = tmp_path / "writes"
    subprocess.run(
        ["strace", "-e", "trace=write", "-o", str(log), "/bin/sh", str(script)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    # dash writes ``printf ... >&2`` to fd 1 dup'ed from 2, so the writes are told by content
    markers = [line for line in log.read_text().splitlines() if "<<souqscan-" in line]
    assert len(markers) == 2 * (len(batch) + 1)  # it was 2 * 2N: an end and a begin apart
