"""A warm `cppcc-kb` for tests: one helper process imports the CLI and loads the default embedder
once, then forks a fresh child for every command.

Importing torch and sentence-transformers and loading the model costs tens of seconds per process
on a small, busy machine; the crash tests alone start a dozen CLI processes. Each child here is a
real, separate process that runs `cppcc_kb.cli.main()` with the given argv, environment and
stdout/stderr files: it opens its own Chroma client, takes the ingest lock, writes,
and can be killed with SIGKILL at any moment like `cppcc-kb` started from a shell. The helper
itself never opens a knowledge base, so no child inherits a client or a lock.

Protocol: JSON lines on the helper's stdin/stdout (`spawn` → pid, `poll` → exit code or null).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 300.0


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


class Child:
    """One forked command; its stdout and stderr go to files read back after it ends."""

    def __init__(self, warm: "WarmCLI", pid: int, out: Path, err: Path):
        self.warm, self.pid, self.out, self.err = warm, pid, out, err
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            self.code = self.warm._ask({"op": "poll", "pid": self.pid})["code"]
        return self.code

    def wait(self, timeout: float = 180.0) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"warm child {self.pid} still running after {timeout:g}s:\n"
                                   + self.stderr[-3000:])
            time.sleep(0.05)
        return self.code

    def kill(self) -> None:
        """SIGKILL, unless already reaped (a reaped pid may belong to someone else by now)."""
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait()

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def result(self, timeout: float = 180.0) -> Result:
        code = self.wait(timeout)
        return Result(code, self.stdout, self.stderr)


class WarmCLI:
    """Client side: start the helper, then spawn commands and Python calls from it."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="warm-cli-"))
        self._log = open(self.tmp / "helper.log", "wb")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.warm_cli"], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, env=env, text=True, bufsize=1)
        self._lock = threading.Lock()
        self._count = 0
        self._ready = False

    def ready(self) -> "WarmCLI":
        if not self._ready:
            line = self._readline(READY_TIMEOUT_S)
            if json.loads(line).get("ready") is not True:
                raise RuntimeError(f"warm CLI helper did not start: {line}")
            self._ready = True
        return self

    def _readline(self, timeout: float) -> str:
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.close()
            raise RuntimeError("warm CLI helper died or hung:\n"
                               + (self.tmp / "helper.log").read_text(errors="replace")[-3000:])
        return box[0]

    def _ask(self, request: dict) -> dict:
        self.ready()
        with self._lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            return json.loads(self._readline(60.0))

    def spawn(self, argv: list[str], env: dict[str, str | None] | None = None,
              call: str | None = None) -> Child:
        """Fork `cppcc-kb ARGV...` (or, with `call`, `module:function(*argv)` whose JSON
        result is written to stdout)."""
        self._count += 1
        out, err = self.tmp / f"{self._count}.out", self.tmp / f"{self._count}.err"
        reply = self._ask({"op": "spawn", "argv": [str(a) for a in argv], "env": env or {},
                           "stdout": str(out), "stderr": str(err), "call": call,
                           "cwd": os.getcwd()})
        return Child(self, reply["pid"], out, err)

    def run(self, argv: list[str], env: dict[str, str | None] | None = None,
            timeout: float = 180.0) -> Result:
        return self.spawn(argv, env).result(timeout)

    def call(self, function: str, *args, timeout: float = 180.0):
        """Run `module:function(*args)` in a fresh child; return its JSON result."""
        res = self.spawn([json.dumps(a) for a in args], call=function).result(timeout)
        if res.code != 0:
            raise RuntimeError(f"{function} failed in a warm child (exit {res.code}):\n"
                               f"{res.stderr[-4000:]}")
        return json.loads(res.stdout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()


_warm: WarmCLI | None = None


def warm_cli() -> WarmCLI:
    """The one helper of this test session (shared by every test module), started on first use."""
    global _warm
    if _warm is None:
        _warm = WarmCLI()
        atexit.register(_warm.close)
    return _warm.ready()


# ---- the helper process ------------------------------------------------------------------------

def _serve() -> None:
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints of the preloading go to the log, not into the protocol
    _preload()
    proto_out.write(json.dumps({"ready": True}) + "\n")
    proto_out.flush()
    children: set[int] = set()
    try:
        for line in proto_in:
            req = json.loads(line)
            if req["op"] == "spawn":
                pid = os.fork()
                if pid == 0:
                    proto_in.close()
                    proto_out.close()
                    _child(req)  # never returns
                children.add(pid)
                reply = {"pid": pid}
            else:  # poll
                pid, status = os.waitpid(req["pid"], os.WNOHANG)
                reply = {"code": None if pid == 0 else os.waitstatus_to_exitcode(status)}
                if pid:
                    children.discard(pid)
            proto_out.write(json.dumps(reply) + "\n")
            proto_out.flush()
    finally:  # the test session ended: leave no child behind
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _preload() -> None:
    import chromadb  # noqa: F401

    import bot.retrieval  # noqa: F401
    import cppcc_kb.cli  # noqa: F401  (registers every command)
    import ingest.documents  # noqa: F401
    import ingest.pipeline  # noqa: F401
    from cppcc_kb.settings import Settings
    from ingest.embedder import load_embedder
    from ingest.tokens import tokenize

    load_embedder(Settings())  # builds the model; no inference, so no thread pool to inherit
    tokenize("预热")


def _child(req: dict) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for key, value in req["env"].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        os.chdir(req["cwd"])
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        os.dup2(os.open(req["stdout"], flags, 0o644), 1)
        os.dup2(os.open(req["stderr"], flags, 0o644), 2)
        sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        if req["call"]:
            import importlib

            module, name = req["call"].split(":")
            result = getattr(importlib.import_module(module), name)(
                *[json.loads(a) for a in req["argv"]])
            sys.stdout.write(json.dumps(result, ensure_ascii=False))
            code = 0
        else:
            from cppcc_kb.cli import main

            sys.argv = ["cppcc-kb", *req["argv"]]
            main()
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 — report anything, then exit non-zero
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    _serve()
