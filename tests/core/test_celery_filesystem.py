"""The embedded broker's messages appear in the queue folder whole, so the worker never reads a half-written one."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from kombu import Connection

from core import celery_filesystem


def _connection(folder: Path) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    return Connection("filesystem://", transport_options=options)


def test_the_filesystem_alias_is_the_atomic_transport():
    # given the Celery app imported (it installs the transport before any connection)
    import voucher_service.celery  # noqa: F401

    # when / then
    assert Connection("filesystem://").transport_cls == "filesystem"
    assert Connection("filesystem://").get_transport_cls() is celery_filesystem.Transport


def test_a_message_is_renamed_into_place_only_once_written(tmp_path, monkeypatch):
    # given a connection on an empty folder, and a spy on the rename that publishes the message
    seen: list[tuple[list[str], bytes]] = []
    real_replace = os.replace

    def spy(source, target):
        # what a reader could find at that moment: no message file yet, and the hidden file already complete
        seen.append((sorted(name for name in os.listdir(tmp_path) if name.endswith(".msg")), Path(source).read_bytes()))
        real_replace(source, target)

    monkeypatch.setattr(celery_filesystem.os, "replace", spy)
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("q")
        # when a message is sent and read back
        queue.put({"task": "t", "args": [1, 2]})
        message = queue.get(timeout=1)
        message.ack()
        queue.close()
    # then before the rename no message file was visible and the hidden one held the whole body; afterwards the
    # message read back is the one sent and nothing is left behind
    [(visible, body)] = seen
    assert visible == []
    assert json.loads(base64.b64decode(json.loads(body)["body"])) == {"task": "t", "args": [1, 2]}
    assert message.payload == {"task": "t", "args": [1, 2]}
    assert [name for name in os.listdir(tmp_path) if not name.startswith(".")] == []
    assert [name for name in os.listdir(tmp_path) if name.endswith(".partial")] == []


def test_a_hidden_partial_file_is_never_taken_for_a_message(tmp_path):
    # given a writer's hidden file still being written (empty) in the queue folder
    (tmp_path / ".abc123.partial").write_bytes(b"")
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("q")
        # when the reader looks for a message
        queue.put({"n": 1})
        message = queue.get(timeout=1)
        message.ack()
        # then it takes the whole message only, and leaves the partial file to its writer
        assert message.payload == {"n": 1}
        queue.close()
    assert (tmp_path / ".abc123.partial").exists()
