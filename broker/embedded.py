"""The embedded broker: a Mosquitto or amqtt subprocess on a free loopback port, for one run.

Theory of operation: :class:`EmbeddedBroker` writes a configuration into a private temporary
directory, starts the broker in its own process group, and waits until the port accepts TCP
connections (or the process dies, or a timeout passes: then it is killed and its log tail is
reported). It stops the broker when the ``with`` block ends, however it ends (an exception,
Ctrl-C), and the broker is also told by the kernel to die with this process (Linux
``PR_SET_PDEATHSIG``), so a run never leaves an orphan broker behind.

``kind="auto"`` uses Mosquitto when it is installed and amqtt (a Python dependency) otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Literal

from broker.config import BrokerSecurity, write_amqtt_config, write_mosquitto_config
from broker.errors import BrokerNotFoundError, BrokerStartError, PortInUseError

__all__ = [
    "BrokerKind",
    "EmbeddedBroker",
    "accepts_connections",
    "die_with_parent",
    "find_mosquitto",
    "free_port",
    "free_ports",
    "mosquitto_version",
]

BrokerKind = Literal["auto", "mosquitto", "amqtt"]
_PR_SET_PDEATHSIG = 1


def find_mosquitto() -> Path | None:
    """The Mosquitto binary, from the PATH or Debian's /usr/sbin."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


def mosquitto_version(binary: Path) -> str:
    """The version Mosquitto reports (``mosquitto -h`` prints it on its first line)."""
    proc = subprocess.run([str(binary), "-h"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (proc.stdout or proc.stderr).splitlines()[:1]
    return first[0].removeprefix("mosquitto version ").strip() if first else "unknown"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that were free on ``host`` a moment ago.

    All are held open together while they are chosen, so the operating system cannot hand out
    one of them twice (asked for one at a time, two listeners of a cluster once got the same).
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # the broker binds with SO_REUSEADDR too, so connections in TIME_WAIT do not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def accepts_connections(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host``:``port`` now."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """In a child process: ask the kernel to end it when its parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def terminate(
    process: subprocess.Popen[bytes], *, kill: bool = False, grace_s: float = 5.0
) -> None:
    """End a broker process and its group: SIGTERM (SIGKILL after ``grace_s``), or SIGKILL now."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass
class EmbeddedBroker:
    """A broker subprocess owned by this run.

    Attributes:
        kind: ``auto``, ``mosquitto`` or ``amqtt``; after start, the one actually used.
        security: Credentials and ACLs, or ``None`` for an open broker.
        host: Loopback address to listen on.
        port: Port to listen on; ``0`` picks a free one.
        start_timeout: Seconds to wait for the broker to accept connections.
        persistence: Whether Mosquitto persists its queues to disk (promptly).
    """

    kind: BrokerKind = "auto"
    security: BrokerSecurity | None = None
    host: str = "127.0.0.1"
    port: int = 0
    start_timeout: float = 10.0
    persistence: bool = True
    version: str = ""
    workdir: Path | None = None
    _process: subprocess.Popen[bytes] | None = None
    _log: Path | None = None
    _owns_workdir: bool = False
    _exit_code: int | None = None

    @property
    def url(self) -> str:
        """``mqtt://host:port`` of the running broker."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process else None

    def _command(self) -> list[str]:
        assert self.workdir is not None
        if self.kind == "mosquitto":
            binary = find_mosquitto()
            if binary is None:
                raise BrokerNotFoundError(
                    "mosquitto is not installed (Debian: apt-get install mosquitto)"
                )
            self.version = mosquitto_version(binary)
            conf = write_mosquitto_config(
                self.workdir,
                self.port,
                self.security,
                host=self.host,
                persistence=self.persistence,
            )
            return [str(binary), "-c", str(conf)]
        self.version = metadata.version("amqtt")
        conf = write_amqtt_config(self.workdir, self.port, self.security, host=self.host)
        command = [sys.executable, "-m", "broker.amqtt_guard", "-c", str(conf)]
        guard = self.workdir / "guard.json"
        return [*command, "--guard", str(guard)] if guard.exists() else command

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections.

        Raises:
            BrokerNotFoundError: Mosquitto asked for explicitly but not installed.
            PortInUseError: The port given is taken.
            BrokerStartError: It did not accept connections within ``start_timeout``.
        """
        if self.kind == "auto":
            self.kind = "mosquitto" if find_mosquitto() else "amqtt"
        if self.port == 0:
            self.port = free_port(self.host)
        elif _port_taken(self.host, self.port):
            raise PortInUseError(self.host, self.port)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"bureaunet-{self.kind}-"))
            self._owns_workdir = True
        try:
            command = self._command()
        except BrokerNotFoundError:
            self.stop()  # removes the directory made for it
            raise
        self._log = self.workdir / "broker.log"
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise BrokerStartError(f"{self.kind} exited with code {self._exit_code}", tail)
            if accepts_connections(self.host, self.port):
                return self
            time.sleep(0.05)
        tail = self.log_tail()
        self.stop()
        raise BrokerStartError(
            f"{self.kind} did not accept connections within {self.start_timeout:g} s", tail
        )

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the broker wrote."""
        if self._log is None or not self._log.exists():
            return ""
        text = self._log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would; :meth:`restart` brings it back."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=5)

    def restart(self) -> None:
        """Start the broker again on the same port with the same configuration and storage."""
        self.stop(remove=False)
        self.start()

    def stop(self, *, remove: bool = True) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 5 s) and remove its files."""
        process, self._process = self._process, None
        if process is not None:
            terminate(process)
            self._exit_code = process.returncode
        if remove and self._owns_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
