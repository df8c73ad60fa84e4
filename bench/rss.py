"""Run one measured pipeline in a fresh interpreter and read its peak RSS.

Every ingest or query measurement runs as `python -m bench.rss JOBFILE` in a new process, so
the model, Chroma's caches and the allocator's high-water mark of one pipeline never mix with
another's. The parent reaps the child with `os.wait4`, whose `ru_maxrss` is the peak resident
set size of exactly that child (kernel-tracked, no sampling); the child also reports its own
`getrusage(RUSAGE_SELF)` as a cross-check. The job's result travels back as a JSON file.

A job is "module:function"; the function takes the params dict and returns a JSON-able dict.

Other engineers edit the project while a long benchmark runs, so a benchmark command first
copies the project's packages into a snapshot folder (`CodeSnapshot`) and every measured process
of that command imports from it: an ingest and its "unchanged" re-ingest always run the same
code (a bumped PIPELINE_VERSION in between would otherwise re-embed everything).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = ("cppcc_kb", "ingest", "bot", "ui", "evals", "bench")


# What a snapshot of another commit takes from it: the code that answers. The benchmark's own
# code (and the metrics it computes with) stays the running one, so both are measured alike.
_ANSWERING_PACKAGES = ("cppcc_kb", "ingest", "bot", "ui")


class SnapshotError(Exception):
    """A commit whose code cannot be measured; the message names it and the fix."""


class CodeSnapshot:
    """A frozen copy of the project's packages for the measured processes of one command;
    with `ref`, the answering packages as they were at that git commit (`bench query
    --versus REF`)."""

    def __init__(self, ref: str | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="cppcc-bench-code-")
        self.root = Path(self._tmp.name)
        if ref:
            self._extract(ref)
        digest = hashlib.sha1()
        for name in _PACKAGES:
            src = PROJECT_ROOT / name
            if src.is_dir() and not (self.root / name).exists():
                shutil.copytree(src, self.root / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for path in sorted(self.root.rglob("*.py")):
            digest.update(str(path.relative_to(self.root)).encode() + path.read_bytes())
        self.id = f"{ref or _git_head()}+{digest.hexdigest()[:10]}"

    def _extract(self, ref: str) -> None:
        git = ["git", "-C", str(PROJECT_ROOT)]
        try:
            known = subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                                   capture_output=True, text=True, timeout=30)
            if known.returncode != 0:
                raise SnapshotError(f"git knows no commit {ref!r} in {PROJECT_ROOT}; give a "
                                    "commit or tag of this repository (`git log --oneline`)")
            commit = known.stdout.strip()
            tree = subprocess.run([*git, "ls-tree", "--name-only", commit], capture_output=True,
                                  text=True, timeout=30, check=True).stdout.split()
            if not {"bot", "ingest", "cppcc_kb"} <= set(tree):
                raise SnapshotError(f"commit {ref!r} has no bot/, ingest/ and cppcc_kb/ to "
                                    "measure; give a commit of the project since its first")
            archive = subprocess.run([*git, "archive", "--format=tar", commit,
                                      *[p for p in _ANSWERING_PACKAGES if p in tree]],
                                     capture_output=True, timeout=120, check=True)
            subprocess.run(["tar", "-x", "-C", str(self.root)], input=archive.stdout,
                           check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            self.cleanup()
            raise SnapshotError(f"could not read commit {ref!r} with git: {exc}") from exc
        except SnapshotError:
            self.cleanup()
            raise

    def cleanup(self) -> None:
        self._tmp.cleanup()


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return (head or "nogit") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "nogit"


def stop_on_sigterm() -> None:
    """A SIGTERM to the benchmark command unwinds it (so Job.wait kills its child too)."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _die_with_parent() -> None:
    """In the child (Linux): receive SIGTERM when the benchmark command dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class JobFailed(RuntimeError):
    pass


def load_1min() -> float:
    """The machine's 1-minute load average (2 cores here: above 2 means contention)."""
    return round(os.getloadavg()[0], 2)


class Job:
    """A measured child process: `start()`, then `wait()` (or `stop()` for a server)."""

    def __init__(self, target: str, params: dict, label: str = "",
                 code: CodeSnapshot | None = None):
        self.target, self.params, self.label = target, params, label or target
        self.code = code
        self._tmp = tempfile.TemporaryDirectory(prefix="cppcc-bench-job-")
        self._out = Path(self._tmp.name) / "result.json"
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> "Job":
        spec = Path(self._tmp.name) / "job.json"
        spec.write_text(json.dumps({"target": self.target, "params": self.params,
                                    "out": str(self._out)}, ensure_ascii=False), "utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        root = self.code.root if self.code else PROJECT_ROOT
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in
                                             env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.started = time.perf_counter()
        # The child's stdout goes to our stderr: the parent's stdout carries only the tables.
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.rss", str(spec)],
                                     cwd=str(root), env=env, stdout=_stderr_fd(),
                                     preexec_fn=_die_with_parent)
        return self

    def wait(self, timeout: float | None = None, ok_signal: int | None = None) -> dict:
        """Block until the child exits (killed after `timeout` s); its result with
        `peak_rss_mb` and `process_s` added."""
        assert self.proc is not None, "start() first"
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                pid, status, usage = os.wait4(self.proc.pid, 0 if deadline is None else os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    deadline = None
                time.sleep(0.1)
        except BaseException:
            os.kill(self.proc.pid, signal.SIGKILL)
            os.waitpid(self.proc.pid, 0)
            self.proc.returncode = -9
            self._tmp.cleanup()
            raise
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        process_s = time.perf_counter() - self.started
        try:
            if ok_signal is not None and self.proc.returncode in (-ok_signal, 128 + ok_signal):
                result = {}  # a server stopped by our signal (uvicorn re-raises it at exit)
            elif self.proc.returncode != 0 or not self._out.exists():
                raise JobFailed(f"{self.label}: the measured process exited with "
                                f"{self.proc.returncode} (see its output above)")
            else:
                result = json.loads(self._out.read_text("utf-8"))
        finally:
            self._tmp.cleanup()
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: KiB
        result["process_s"] = round(process_s, 2)
        return result

    def running(self) -> bool:
        """True while the child lives (without reaping it: wait() still gets its rusage)."""
        assert self.proc is not None
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def stop(self, timeout: float = 30.0) -> dict:
        """Ask a server child to finish (SIGTERM, then SIGKILL after `timeout` s) and reap it."""
        assert self.proc is not None
        # os.kill, not Popen.terminate: that would poll() and reap the child, losing its rusage.
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.wait(timeout, ok_signal=signal.SIGTERM)


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream: inherit instead
        return None


def run_job(target: str, params: dict, label: str = "", code: CodeSnapshot | None = None) -> dict:
    """Run `target(params)` in a fresh interpreter; its result plus peak RSS and process time."""
    return Job(target, params, label, code).start().wait()


def _child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text("utf-8"))
    stop_on_sigterm()
    module, func = spec["target"].split(":")
    result = getattr(importlib.import_module(module), func)(spec["params"]) or {}
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(spec["out"]).write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
