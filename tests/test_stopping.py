"""The stop flag: a signal or a request from code (a time limit) stops a job at its next check."""

from __future__ import annotations

import os
import signal

import pytest

from hanna_tui.stopping import Cancelled, StopFlag


def test_a_request_from_code_stops_with_its_reason() -> None:
    stop = StopFlag()
    assert not stop and stop.reason == ""
    stop.request("time limit 5 s")
    assert stop and stop.reason == "time limit 5 s"
    with pytest.raises(Cancelled, match="time limit 5 s"):
        stop.check()


def test_sigterm_while_installed_sets_the_flag_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = StopFlag()
    with stop.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop and stop.reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before
