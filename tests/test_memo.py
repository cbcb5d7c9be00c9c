"""The bounded memo behind the warm path's parse and card memos."""

import threading

import pytest

from app.memo import BoundedMemo


def test_keeps_the_most_recently_used():
    memo = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "a" is now the most recent: "b" goes first
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, None, 3)
    assert len(memo) == 2


def test_put_replaces_and_refreshes():
    memo = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("a", 10)  # replacing counts as a use
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b")) == (10, None)


def test_discard_forgets_one_key_and_ignores_an_unknown_one():
    memo = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.discard("a")
    memo.discard("never")
    assert (memo.get("a"), memo.get("b"), len(memo)) == (None, 2, 1)


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        BoundedMemo(0)


def test_threads_never_push_it_past_its_size():
    memo = BoundedMemo(50)

    def churn(base):
        for i in range(2000):
            memo.put((base, i), i)
            memo.get((base, i // 2))

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) == 50
