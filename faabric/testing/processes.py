"""Start real planner and worker processes on free loopback ports, and stop them by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from faabric.testing.ports import free_port


class Process:
    """A child process whose output goes to a log file, stopped by pid."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.host_id = ""  # set for workers once they are ready

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        """Wait until the log holds a line containing ``text``; return that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log().splitlines():
                if text in line:
                    return line
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not print {text!r} within {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit; return the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()


class ProcessCluster:
    """A planner and workers running as separate processes on loopback."""

    def __init__(
        self, root: Path, workers: int = 2, slots: int = 2, host_timeout: float = 2.0, redis_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.redis_url = redis_url
        self.extra_env = env or {}  # e.g. FAABRIC_* settings for every process
        self.port = free_port()
        self.http_port = free_port()
        self.upload_port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self._workers = workers
        self._slots = slots
        self._host_timeout = host_timeout
        self.planner: Process | None = None
        self.workers: list[Process] = []

    def _env(self, home: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAABRIC_")}
        env["FAABRIC_HOME"] = str(self.root / home)
        if self.redis_url:
            env["FAABRIC_REDIS"] = self.redis_url
        return env | self.extra_env

    def start(self) -> "ProcessCluster":
        self._start_planner("planner")
        for number in range(1, self._workers + 1):
            self.add_worker(f"worker{number}")
        return self

    def _start_planner(self, name: str) -> None:
        self.planner = Process(
            name,
            [sys.executable, "-m", "faabric", "planner", "--bind", "127.0.0.1", "--port", str(self.port),
             "--http-port", str(self.http_port), "--upload-port", str(self.upload_port),
             "--host-timeout", str(self._host_timeout)],
            self._env("planner"), self.root / f"{name}.log",
        )
        self.planner.wait_for_line("planner ready")

    def restart_planner(self) -> int:
        """Stop the planner (SIGTERM) and start a new one on the same ports; the old one's exit code."""
        code = self.planner.terminate()
        self._start_planner("planner-restarted")
        return code

    def add_worker(self, name: str) -> Process:
        worker = Process(
            name,
            [sys.executable, "-m", "faabric", "worker", "--planner", self.address, "--slots", str(self._slots),
             "--advertise", name, "--peer-bind", "127.0.0.1", "--peer-address", "127.0.0.1"],
            self._env(name), self.root / f"{name}.log",
        )
        line = worker.wait_for_line("worker ready")
        worker.host_id = line.split("worker ready:", 1)[1].strip()
        self.workers.append(worker)
        return worker

    def stop(self) -> dict[str, int]:
        codes = {worker.name: worker.terminate() for worker in self.workers}
        if self.planner is not None:
            codes["planner"] = self.planner.terminate()
        return codes


@contextlib.contextmanager
def process_cluster(root: Path, **kwargs) -> Iterator[ProcessCluster]:
    cluster = ProcessCluster(root, **kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
