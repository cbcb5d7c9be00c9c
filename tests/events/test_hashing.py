"""EmailHasher: the keyed hash of CONTRACT section 5, and its key created once per data dir."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import stat

from app.events import EmailHasher
from app.events.hashing import KEY_FILE


def test_hash_is_hmac_sha256_of_the_trimmed_lower_cased_email(tmp_path):
    hasher = EmailHasher.for_data_dir(tmp_path, {"OGTK_EVENT_HASH_KEY": "s3cret"})
    expected = hmac.new(b"s3cret", b"ann.lee@example.com", hashlib.sha256).hexdigest()
    assert hasher.hash("  Ann.Lee@Example.COM ") == expected
    assert hasher.hash("ann.lee@example.com") == expected
    assert hasher.hash("bob@example.com") != expected
    assert not (tmp_path / KEY_FILE).exists()  # a configured key leaves the data dir alone
    assert "s3cret" not in repr(hasher)


def test_key_file_is_created_once_private_and_reused(tmp_path):
    first = EmailHasher.for_data_dir(tmp_path / "data", {})
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = EmailHasher.for_data_dir(tmp_path / "data", {})
    assert again.hash("a@b.c") == first.hash("a@b.c")
    other_dir = EmailHasher.for_data_dir(tmp_path / "other", {})
    assert other_dir.hash("a@b.c") != first.hash("a@b.c")  # a random secret per data dir
    assert [p.name for p in (tmp_path / "data").iterdir()] == [KEY_FILE]  # no temp files left


def _hash_in_child(directory: str, start, out) -> None:
    start.wait(timeout=60)
    out.put(EmailHasher.for_data_dir(directory, {}).hash("same@example.com"))


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no lock copied mid-use
    start, out = context.Barrier(6 + 1), context.Queue()  # all six make their first start at once
    workers = [context.Process(target=_hash_in_child, args=(str(tmp_path), start, out)) for _ in range(6)]
    for worker in workers:
        worker.start()
    start.wait(timeout=60)
    hashes = {out.get(timeout=30) for _ in workers}
    for worker in workers:
        worker.join(30)
    assert len(hashes) == 1
