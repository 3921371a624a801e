"""Planted host state: files to bind-mount over a namespaced server's real paths.

Each violation has a compliant twin; tests keep the expected statuses beside them.
"""

from __future__ import annotations

from pathlib import Path

# `sshd -T` (what souqscan runs) reads /etc/ssh/sshd_config; it needs a readable host key,
# so each planted config names the test server's own key.
HARDENED_SSHD = """\
HostKey {host_key}
PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
KbdInteractiveAuthentication no
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512
"""

WEAK_SSHD = """\
HostKey {host_key}
PermitRootLogin yes
PasswordAuthentication yes
PermitEmptyPasswords no
Ciphers aes128-cbc,aes256-cbc,aes256-ctr
"""


def sshd_config(directory: Path, template: str, name: str, *, mode: int = 0o644) -> Path:
    """Render a planted sshd_config naming ``directory``'s host key."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(template.format(host_key=directory / "host"))
    path.chmod(mode)
    return path
