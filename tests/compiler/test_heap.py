"""The collector settings around big builds are restored afterwards (a test run or a
language server goes on with CPython's own), nested blocks included."""

import gc

from zongheng.compiler.heap import THRESHOLDS, long_lived, paused


def test_long_lived_restores_the_collector_and_nests():
    before = gc.get_threshold()
    with long_lived(freeze=True):
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0  # what existed is out of the scans
        with long_lived():
            assert gc.get_threshold() == THRESHOLDS
        assert gc.get_threshold() == THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_long_lived_restores_the_collector_after_an_error():
    before = gc.get_threshold()
    try:
        with long_lived(freeze=True):
            raise ValueError("bad input")
    except ValueError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_paused_turns_the_collector_back_on_only_if_it_was():
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
