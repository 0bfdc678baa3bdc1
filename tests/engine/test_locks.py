"""File locks: held while the holder lives, and saying who holds them."""

import os

import pytest

from loanquality.engine.locks import Held, exclusive, hold_for_life, is_held


def test_a_held_lock_says_who_holds_it(tmp_path):
    # given: this process holds a worker lock
    path = tmp_path / "worker.lock"
    hold_for_life(path)
    # when / then: a second hold (another handle) is refused, naming the holder
    assert is_held(path)
    with pytest.raises(Held) as held:
        hold_for_life(path)
    assert held.value.holder["pid"] == os.getpid()


def test_an_exclusive_lock_is_free_again_after_its_block(tmp_path):
    path = tmp_path / ".lock"
    with exclusive(path, {"operation": "close"}):
        assert is_held(path)
        with pytest.raises(Held) as held, exclusive(path, {"operation": "import"}):
            pass
        assert held.value.holder["operation"] == "close"
    assert not is_held(path)
