"""State keys: one namespace per user, whatever string a guest passes.

A :class:`StateKey` is ``(user, key)``. Its :attr:`StateKey.name` is what the
global tier stores it under: the user and the percent-encoded key, so no key
string (``"../other"``, ``"a:b"``, ``"%2F"``) can reach another user's
namespace.
"""

from __future__ import annotations

import dataclasses
import functools
from urllib.parse import quote

from faabric.exceptions import InvalidStateKeyError

MAX_KEY_BYTES = 1024


@dataclasses.dataclass(frozen=True)
class StateKey:
    user: str
    key: str

    @classmethod
    def checked(cls, user: str, key: str) -> "StateKey":
        """A key after validation.

        Raises:
            InvalidStateKeyError: the key is empty or longer than MAX_KEY_BYTES.
        """
        if not key:
            raise InvalidStateKeyError(user, key, "empty key")
        if len(key.encode()) > MAX_KEY_BYTES:
            raise InvalidStateKeyError(user, key, f"key of {len(key.encode())} bytes is longer than {MAX_KEY_BYTES}")
        return cls(user, key)

    @functools.cached_property
    def name(self) -> str:
        """The key in the global tier: ``<user>:<percent-encoded key>`` (injective)."""
        return f"{quote(self.user, safe='')}:{quote(self.key, safe='')}"

    def __str__(self) -> str:
        return f"{self.user}/{self.key}"
