"""Fixtures of the fault tests: a private Redis, workers to start (and kill), and the stress world (three small
programs, a crew) to act in."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.processes import RedisServer, Worker
from tests.stress.world import World, build_world


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_worker(redis_server, tmp_path) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(redis_server.url, tmp_path / "worker.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
    log = tmp_path / "worker.log"
    if log.exists():  # shown when the test fails
        print(log.read_text(errors="replace")[-6000:])


@pytest.fixture
def world(settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world(threads=1)
