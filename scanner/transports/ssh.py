"""Run commands on a remote host over one reused SSH connection (paramiko).

Host keys are checked strictly against known_hosts (RejectPolicy). Accepting an
unknown key must be asked for explicitly; a *changed* key is always refused.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from scanner.errors import (
    AuthenticationFailed,
    HostKeyError,
    ObservationError,
    TargetUnreachable,
    UsageError,
)
from scanner.transports import framing
from scanner.transports.base import (
    DEFAULT_TIMEOUT,
    AuditHook,
    BatchEntry,
    BoundedBuffer,
    CommandResult,
    Transport,
    timed_out,
    too_large,
)
from scanner.transports.sshlib import paramiko

CONNECT_TIMEOUT = 10.0
EOF_GRACE = 2.0  # how long output may trail a command's exit status
# How long past its own timeout a batched command may run before we stop waiting: the time
# its end marker may spend on the way here.
BATCH_GRACE = 2.0
# The login shell's status when it found no timeout(1) to run the batch under.
NOT_FOUND = 127
# A shell kept open for a host's batches is killed by its backstop after this many of the
# transport's command timeouts (a whole host scan sends about 40 commands); a batch that
# would not fit in what is left of it goes to a new shell.
SHELL_COMMANDS = 64


@dataclass
class _Shell:
    """One exec channel's ``/bin/sh -s``, kept for the next batch."""

    channel: paramiko.Channel
    deadline: float  # monotonic time its backstop kills it
    opened: bool = False  # its functions and exports were sent
    missing: bool = False  # the login shell could not find the command running it

    @property
    def alive(self) -> bool:
        channel = self.channel
        return not (channel.closed or channel.eof_received or channel.exit_status_ready())

    def close(self) -> None:
        """End the shell: told to exit, then the channel closed (sshd sends it EOF anyway)."""
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            if self.alive:
                self.channel.sendall(b"exit 0\n")
                self.channel.shutdown_write()
        self.channel.close()


class _KnownHosts:
    """known_hosts files parsed once per process (and again when one changes), not once per
    connection: a fleet's file holds every host, and parsing it is most of a connect's CPU."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[tuple[int, int], paramiko.HostKeys]] = {}

    def read(self, path: Path) -> paramiko.HostKeys:
        try:
            stat = path.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                found = self._parsed.get(str(path))
                if found is not None and found[0] == version:
                    return found[1]
                keys = paramiko.HostKeys(str(path))
                self._parsed[str(path)] = (version, keys)
                return keys
        except (OSError, paramiko.SSHException) as exc:
            raise UsageError(f"cannot read known_hosts {path}: {exc}") from None


KNOWN_HOSTS = _KnownHosts()

# Preferred first when the server offers them. paramiko lists its CTR and CBC ciphers first and
# the encrypt-and-MAC HMACs before the encrypt-then-MAC ones; it checks each packet's MAC with a
# byte-by-byte Python loop, which AEAD ciphers (their tag checked inside OpenSSL) do not need.
# Nothing is disabled: a server without them still negotiates what paramiko offers.
AEAD_CIPHERS = ("aes256-gcm@openssh.com", "aes128-gcm@openssh.com")
ETM_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com")


def _first(preferred: Sequence[str], offered: Sequence[str]) -> tuple[str, ...]:
    return (*(a for a in preferred if a in offered), *(a for a in offered if a not in preferred))


def _transport(sock: object, **kwargs: object) -> paramiko.Transport:
    """``SSHClient.connect``'s transport, with AEAD ciphers and ETM MACs asked for first."""
    transport = paramiko.Transport(sock, **kwargs)  # type: ignore[arg-type]
    options = transport.get_security_options()
    options.ciphers = _first(AEAD_CIPHERS, options.ciphers)
    options.digests = _first(ETM_MACS, options.digests)
    return transport


@dataclass(frozen=True)
class HostSpec:
    host: str
    user: str
    port: int = 22

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user}@{host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    @classmethod
    def parse(cls, text: str, default_user: str) -> HostSpec:
        """``[USER@]HOST[:PORT]``; IPv6 as ``[ADDR]:PORT``. Passwords are never accepted in it."""
        spec = text.strip().removeprefix("ssh://")
        user = default_user
        if "@" in spec:
            user, spec = spec.rsplit("@", 1)
            if ":" in user:
                # Never echo the spec: it holds a password.
                raise UsageError("a password in a host spec is refused: use a key or ssh-agent")
        port = 22
        if spec.startswith("["):
            host, _, rest = spec[1:].partition("]")
            if rest:
                port = _port(text, rest.removeprefix(":"))
        elif spec.count(":") == 1:
            host, port_text = spec.split(":")
            port = _port(text, port_text)
        else:
            host = spec
        if not host or not user or any(c.isspace() for c in host + user):
            raise UsageError(f"{text!r} is not a host: expected [USER@]HOST[:PORT]")
        return cls(host, user, port)


def _port(spec: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{spec!r}: {text!r} is not a TCP port")
    return int(text)


@dataclass(frozen=True)
class SshOptions:
    identity: Path | None = None
    known_hosts: Path | None = None
    accept_new_host_key: bool = False
    use_agent: bool = True
    connect_timeout: float = CONNECT_TIMEOUT
    jump: HostSpec | None = None  # a bastion reached first, with the same key and known_hosts
    # The *name* of an environment variable holding the identity key's passphrase: the
    # secret itself never passes through options, logs or reports.
    passphrase_env: str | None = None


class _AcceptNewKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Only for --insecure-accept-new-host-key: trusts an *unknown* key, and records it."""

    def __init__(self, on_accept: Callable[[str], None]) -> None:
        self.on_accept = on_accept

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.on_accept(f"{key.get_name()} {key.fingerprint}")


class SshTransport(Transport):
    batching = True

    def __init__(
        self,
        spec: HostSpec,
        options: SshOptions,
        *,
        sudo: bool = False,
        audit: AuditHook | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(spec.target, sudo=sudo, audit=audit, timeout=timeout)
        self.spec = spec
        self.options = options
        self.accepted_host_key: str | None = None
        self.connections_opened = 0
        self._client: paramiko.SSHClient | None = None
        self._jump: SshTransport | None = None
        self._lock = threading.Lock()
        self._backstop = True  # until the host turns out to lack timeout(1)
        self._idle: list[_Shell] = []  # shells waiting for their next batch

    def connect(self) -> None:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
                self.connections_opened += 1

    def _connect(self) -> paramiko.SSHClient:
        opts = self.options
        client = paramiko.SSHClient()
        known_hosts = opts.known_hosts or Path("~/.ssh/known_hosts").expanduser()
        if known_hosts.exists():
            name = self.spec.known_hosts_name
            for keytype, key in (KNOWN_HOSTS.read(known_hosts).lookup(name) or {}).items():
                client.get_host_keys().add(name, keytype, key)
        elif opts.known_hosts is not None:
            raise UsageError(f"known_hosts file {known_hosts} does not exist")
        if opts.accept_new_host_key:
            client.set_missing_host_key_policy(_AcceptNewKeyPolicy(self._record_accepted))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = f"{self.spec.host}:{self.spec.port}"
        sock = self._through_jump() if opts.jump else None
        try:
            client.connect(
                self.spec.host,
                port=self.spec.port,
                username=self.spec.user,
                key_filename=str(opts.identity) if opts.identity else None,
                passphrase=os.environ.get(opts.passphrase_env) if opts.passphrase_env else None,
                look_for_keys=opts.identity is None,
                allow_agent=opts.use_agent,
                timeout=opts.connect_timeout,
                banner_timeout=opts.connect_timeout,
                auth_timeout=opts.connect_timeout,
                sock=sock,
                transport_factory=_transport,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise HostKeyError(
                f"host key of {where} does not match known_hosts: refusing to connect "
                "(the host was reinstalled, or someone is intercepting)"
            ) from None
        except paramiko.PasswordRequiredException:
            client.close()
            raise AuthenticationFailed(
                "the identity key is encrypted: load it into ssh-agent"
            ) from None
        except paramiko.AuthenticationException:
            client.close()
            raise AuthenticationFailed(
                f"{self.spec.user}@{where} refused authentication (key or agent)"
            ) from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            if "known_hosts" in text or "not found in known_hosts" in text:
                raise HostKeyError(
                    f"{where} is not in known_hosts: add its key (ssh-keyscan, verified) "
                    "or pass --insecure-accept-new-host-key"
                ) from None
            if "banner" in text or text == "No existing session":
                # paramiko says one or the other, by a race between its two timers, when the
                # peer never speaks SSH; neither names the cause.
                raise TargetUnreachable(
                    f"{where}: no SSH handshake within {opts.connect_timeout:g}s "
                    "(silent, or not an SSH server)"
                ) from None
            raise TargetUnreachable(f"SSH handshake with {where} failed: {text[:160]}") from None
        except TimeoutError:
            client.close()
            raise TargetUnreachable(f"{where}: connection timed out") from None
        except OSError as exc:
            client.close()
            reason = exc.strerror or str(exc)
            if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
                reason = "connection refused"
            raise TargetUnreachable(f"{where}: {reason}") from None
        except (ValueError, IndexError) as exc:  # malformed keys or banners inside paramiko
            client.close()
            raise TargetUnreachable(f"{where}: SSH error: {exc}") from None
        return client

    def _record_accepted(self, fingerprint: str) -> None:
        self.accepted_host_key = fingerprint

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        channel = self._open_channel(timeout)
        try:
            return self._collect(channel, argv, timeout)
        except (paramiko.SSHException, OSError) as exc:
            raise TargetUnreachable(f"{self.spec.host}: {exc}") from None
        finally:
            channel.close()

    @staticmethod
    def _collect(channel: paramiko.Channel, argv: Sequence[str], timeout: float) -> CommandResult:
        channel.exec_command(shlex.join(argv))  # the one place argv becomes a command line
        channel.shutdown_write()
        out, err = BoundedBuffer(), BoundedBuffer()
        deadline = time.monotonic() + timeout
        exited: float | None = None
        while True:
            while channel.recv_ready():
                out.add(channel.recv(65536))
            while channel.recv_stderr_ready():
                err.add(channel.recv_stderr(65536))
            if out.overflowed or err.overflowed:
                raise too_large(argv)
            # sshd may send exit-status while output is still in the pipes: the data is all in
            # at EOF. A child of the command holding them open gets a short grace, no more.
            if channel.exit_status_ready() and not (
                channel.recv_ready() or channel.recv_stderr_ready()
            ):
                exited = exited or time.monotonic()
                if channel.eof_received or channel.closed or time.monotonic() - exited > EOF_GRACE:
                    break
            if channel.closed and not channel.exit_status_ready():
                raise TargetUnreachable("the remote command ended without an exit status")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out(argv, timeout)
            select.select([channel], [], [], min(remaining, 0.05))
        return CommandResult(
            tuple(argv), channel.recv_exit_status(), out.getvalue(), err.getvalue()
        )

    def _execute_batch(
        self, entries: Sequence[BatchEntry]
    ) -> Mapping[int, CommandResult | ObservationError]:
        """All ``entries`` in one framed ``/bin/sh`` reading its script from stdin: a shell
        kept open from an earlier batch where one is idle and young enough, under one
        timeout(1) where the host has it."""
        reuse = True
        while True:
            backstop = self._backstop
            shell, fresh = self._take_shell(entries, reuse=reuse)
            found, reusable = self._run_on(shell, entries)
            if reusable:
                self._give_back(shell)
            else:
                shell.close()
            if not fresh and not found:
                reuse = False  # the kept shell was gone (its backstop, sshd): a new one
                continue
            # The login shell's 127 before any section: no timeout(1) here (busybox without
            # it), so the bare shell, sent everything once more.
            if not (fresh and backstop and shell.missing):
                return found
            self._backstop = False
            if self._audit is not None:
                for entry in entries:
                    self._audit(self.target, entry.argv)

    def _take_shell(self, entries: Sequence[BatchEntry], *, reuse: bool) -> tuple[_Shell, bool]:
        """An idle shell whose backstop leaves every entry its own timeout, else a new one."""
        needed = framing.backstop_seconds(entries) + BATCH_GRACE
        with self._lock:
            while reuse and self._idle:
                shell = self._idle.pop()
                if shell.alive and shell.deadline - time.monotonic() > needed:
                    return shell, False
                shell.close()
        seconds = max(self.timeout * SHELL_COMMANDS, needed)
        argv = framing.backstop_argv(seconds) if self._backstop else framing.SHELL
        channel = self._open_channel(self.timeout)
        try:
            channel.exec_command(shlex.join(argv))  # scripts come on stdin, never argv
        except (paramiko.SSHException, OSError) as exc:
            channel.close()
            raise TargetUnreachable(f"{self.spec.host}: {exc}") from None
        deadline = time.monotonic() + seconds if self._backstop else float("inf")
        return _Shell(channel, deadline), True

    def _give_back(self, shell: _Shell) -> None:
        with self._lock:
            if self._client is not None:
                self._idle.append(shell)
                return
        shell.close()  # the transport closed meanwhile

    def _run_on(
        self, shell: _Shell, entries: Sequence[BatchEntry]
    ) -> tuple[Mapping[int, CommandResult | ObservationError], bool]:
        """What the batch established, and whether the shell can take the next batch: only
        when every section came in, with nothing left running or still printing."""
        channel = shell.channel
        nonce = framing.new_nonce()
        parser = framing.BatchParser(nonce, len(entries))
        stuck: int | None = None
        try:
            channel.sendall(framing.session_script(nonce, entries, opening=not shell.opened))
            shell.opened = True
            stuck = self._follow(channel, parser, entries)
            if stuck is None and not parser.out.begun:
                # It ended before its first section. sshd sends EOF when the pipes close and
                # the exit status once the process is reaped, a while later on a busy host:
                # without waiting for it, a missing timeout(1) looked like a broken shell.
                channel.status_event.wait(EOF_GRACE)
            if channel.exit_status_ready():
                shell.missing = channel.recv_exit_status() == NOT_FOUND and not parser.out.begun
        except (paramiko.SSHException, OSError):
            stuck = None  # a broken channel: keep the complete sections, the rest run alone
        found = framing.outcomes(parser, entries, stuck)
        reusable = parser.completed == len(entries) and not parser.stopped
        return found, reusable and shell.alive

    @staticmethod
    def _follow(
        channel: paramiko.Channel, parser: framing.BatchParser, entries: Sequence[BatchEntry]
    ) -> int | None:
        """Feed the parser until every section is in, the stream breaks, or the running
        section overruns its timeout (returned: it is the one that hangs)."""
        running = -1
        deadline = 0.0
        exited: float | None = None
        while not parser.finished:
            # A flood stops the parse, and must stop the reading too.
            while channel.recv_ready() and not parser.finished:
                parser.feed_stdout(channel.recv(65536))
            while channel.recv_stderr_ready() and not parser.finished:
                parser.feed_stderr(channel.recv_stderr(65536))
            if parser.finished:
                break
            if parser.completed != running:
                running = parser.completed
                deadline = time.monotonic() + entries[running].timeout + BATCH_GRACE
            if channel.exit_status_ready():  # output may trail it (see _collect)
                exited = exited or time.monotonic()
            ended = channel.eof_received or channel.closed
            ended = ended or (exited is not None and time.monotonic() - exited > EOF_GRACE)
            if ended and not (channel.recv_ready() or channel.recv_stderr_ready()):
                return None  # the script ended early: what is missing runs on its own
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return running
            select.select([channel], [], [], min(remaining, 0.05))
        return None

    def _open_channel(self, timeout: float) -> paramiko.Channel:
        self.connect()
        transport = self._client.get_transport() if self._client else None
        if transport is None or not transport.is_active():
            raise TargetUnreachable(f"connection to {self.spec.host} was lost")
        try:
            return transport.open_session(timeout=timeout)
        except (paramiko.SSHException, OSError) as exc:
            raise TargetUnreachable(f"cannot open a channel on {self.spec.host}: {exc}") from None

    def _through_jump(self) -> paramiko.Channel:
        """A tunnel to the target through the bastion (like ssh -J), host keys checked on both."""
        jump = self.options.jump
        if jump is None:
            raise TargetUnreachable("no jump host configured")
        bastion = SshTransport(jump, replace(self.options, jump=None))
        bastion.connect()
        self._jump = bastion
        ssh = bastion._client.get_transport() if bastion._client else None
        if ssh is None:
            raise TargetUnreachable(f"jump host {jump.host} dropped the connection")
        try:
            return ssh.open_channel(
                "direct-tcpip",
                (self.spec.host, self.spec.port),
                ("127.0.0.1", 0),
                timeout=self.options.connect_timeout,
            )
        except (paramiko.SSHException, OSError) as exc:
            raise TargetUnreachable(
                f"jump host {jump.host} cannot reach {self.spec.host}:{self.spec.port}: {exc}"
            ) from None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for shell in idle:
            shell.close()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._jump is not None:
                self._jump.close()
                self._jump = None
