"""The broker probe: /health reads the last answer, never waits on the broker link itself."""

from __future__ import annotations

import threading

from solat_engine.broker_probe import BrokerProbe


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_probed_yet_is_not_ok() -> None:
    probe = BrokerProbe(lambda: True, "http://broker", clock=FakeClock())
    result = probe.current()
    assert not result.ok and result.reason is not None and "not probed" in result.reason


def test_fresh_answers_are_reported_and_stale_ones_expire() -> None:
    clock = FakeClock()
    answers = iter([True, False])
    probe = BrokerProbe(lambda: next(answers), "http://broker", max_age=3.0, clock=clock)
    probe.probe_once()
    assert probe.current().ok
    clock.now += 3.5  # the probe thread is stuck (e.g. broker link hangs): the old "ok" must not be trusted
    stale = probe.current()
    assert not stale.ok and stale.reason is not None and "no answer" in stale.reason
    probe.probe_once()
    down = probe.current()
    assert not down.ok and down.reason is not None and "unreachable at http://broker" in down.reason


def test_current_does_not_wait_for_a_hung_check() -> None:
    """A check that never returns (a broker link that swallows packets) must not block current()."""
    release = threading.Event()
    entered = threading.Event()

    def hung_check() -> bool:
        entered.set()
        release.wait(10)
        return True

    probe = BrokerProbe(hung_check, "http://broker", interval=0.01)
    probe.start()
    try:
        assert entered.wait(5), "the probe thread never ran the check"
        result = probe.current()  # returns while the check is still blocked
        assert not result.ok
        assert not release.is_set()
    finally:
        release.set()
        probe.stop()


def test_background_thread_updates_the_result() -> None:
    seen = threading.Event()

    def check() -> bool:
        seen.set()
        return True

    probe = BrokerProbe(check, "http://broker", interval=0.01)
    probe.start()
    try:
        assert seen.wait(5)
        for _ in range(500):  # bounded: the first result lands right after the first check
            if probe.current().ok:
                break
            threading.Event().wait(0.01)
        assert probe.current().ok
    finally:
        probe.stop()
