"""The embedded broker: kombu's filesystem transport, except that a message appears in the queue folder whole.

kombu's own ``_put`` opens the message file in the queue folder and only then writes it, and its ``_get`` takes
any file it finds there without waiting for the writer's lock. With the web server, the worker and beat all
sending (every audit event that notifies someone enqueues a task), the worker sometimes took a file that was
still empty, failed to decode it and stopped: ``make run`` then lost its worker. Here the message is written to a
hidden file in the same folder (a name the reader never matches: it does not end in ``.<queue>.msg``) and renamed
into place, which is atomic on one filesystem, so a reader sees either no file or the whole message.

``install()`` points kombu's ``filesystem://`` alias at this transport; ``voucher_service/celery.py`` calls it
before any connection is made, in every process (web, worker, beat).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "filesystem"
PATH = f"{__name__}:Transport"


def message_name(queue: str) -> str:
    """kombu's naming, which its reader sorts (oldest first) and filters on (``<…>.<queue>.msg``)."""
    return f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    # kombu's own filesystem Channel widens the base signature the same way (its stubs ignore it there too).
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        folder = self.data_folder_out
        body = str_to_bytes(dumps(payload))
        try:
            descriptor, partial = tempfile.mkstemp(prefix=".", suffix=".partial", dir=folder)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(body)
                os.replace(partial, os.path.join(folder, message_name(queue)))
            except BaseException:
                if os.path.exists(partial):
                    os.unlink(partial)
                raise
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to {folder!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    TRANSPORT_ALIASES[ALIAS] = PATH
