"""A throwaway ``redis-server`` on a free loopback port, for tests and benchmarks.

    with redis_server() as url:
        ...  # "redis://127.0.0.1:<port>/0"

No persistence (``--save '' --appendonly no``); stopped by its pid.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from typing import Iterator

import redis

from faabric.testing.ports import free_port

START_TIMEOUT = 10.0


@contextlib.contextmanager
def redis_server(binary: str = "redis-server") -> Iterator[str]:
    """Start a redis-server, wait until it answers PING, yield its URL, stop it.

    Raises:
        FileNotFoundError: no redis-server on PATH.
        RuntimeError: it did not answer within START_TIMEOUT seconds.
    """
    path = shutil.which(binary)
    if path is None:
        raise FileNotFoundError(f"{binary} not found on PATH (Debian: apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="faabric-redis-") as workdir:
        port = free_port()
        process = subprocess.Popen(
            [path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for_ping(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_ping(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {process.returncode} before answering")
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server at {url} did not answer PING within {START_TIMEOUT:g}s")
            time.sleep(0.02)
    finally:
        client.close()
