"""A real `chroma run` server on 127.0.0.1 that a test can start, kill -9 and start again on
the same folder and port."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.support.llm_server import free_port
from tests.support.warm_cli import REPO

CHROMA = REPO / ".venv" / "bin" / "chroma"


class ChromaServer:
    def __init__(self, folder: Path, port: int | None = None):
        self.folder, self.port = folder, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "ChromaServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(self.folder / "db"),
                                      "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, (self.folder / "server.log").read_text(
                errors="replace")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma run never answered its heartbeat"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
