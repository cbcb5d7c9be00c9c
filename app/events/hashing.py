"""Keyed hashes of email addresses, so unmatched emails that mask alike are still counted apart.

The hash is HMAC-SHA256 (hex) of the trimmed, lower-cased address. The key is
``OGTK_EVENT_HASH_KEY`` when set, else a random secret created once in the data directory
(``event-hash.key``, mode 0600) and shared by every worker: written to a private temporary file
and hard-linked into place, so concurrent first starts agree on one key and none reads half a file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

KEY_ENV = "OGTK_EVENT_HASH_KEY"
KEY_FILE = "event-hash.key"


def _normalise(email: str) -> str:
    return (email or "").strip().lower()


class EmailHasher:
    """``hash(email)`` -> 64 hex digits; equal for addresses equal after trim and lower-case.

    >>> hasher = EmailHasher.for_data_dir(settings.data_dir, os.environ)
    >>> hasher.hash(" Ann@Example.com ") == hasher.hash("ann@example.com")
    True
    """

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the email hash key must not be empty")
        self._key = bytes(key)

    def __repr__(self) -> str:  # never show the key
        return "EmailHasher(<key redacted>)"

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike, env: Mapping[str, str] | None = None) -> "EmailHasher":
        """The key from ``env[OGTK_EVENT_HASH_KEY]``, else from (or newly created in) ``data_dir``."""
        env = os.environ if env is None else env
        configured = (env.get(KEY_ENV) or "").strip()
        if configured:
            return cls(configured.encode("utf-8"))
        return cls(_key_file(Path(data_dir)).encode("utf-8"))

    def hash(self, email: str) -> str:
        return hmac.new(self._key, _normalise(email).encode("utf-8"), hashlib.sha256).hexdigest()


def _key_file(data_dir: Path) -> str:
    """The data directory's secret, created atomically (and only once) when missing."""
    path = data_dir / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # fails when another process got there first: use theirs
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it to create a new email hash key")
    return key
