"""Celery's filesystem broker with atomic message files, for the embedded default.

kombu's filesystem transport writes a message file in place, so a worker listing the folder
can pick up a file that is still empty and die on the JSON decode (celery/kombu#1551; seen
here with beat publishing every second). Writing under a temporary name that the reader
ignores, then renaming it in the same folder, makes a message appear whole or not at all.
Only the embedded default uses this; production uses Redis.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# The reader only takes names ending in "<queue>.msg"; this suffix hides a file being written.
PARTIAL_SUFFIX = ".part"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
