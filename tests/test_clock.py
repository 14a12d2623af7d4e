"""The scenario clock: pause, resume and speed changes, and sleeps that follow them."""

from __future__ import annotations

import asyncio
import time

import pytest

from bureaus import Clock, ClockError, virtual_loop


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr("bureaus.clock.time.monotonic", fake)
    return fake


def test_scenario_time_runs_at_the_speed(fake: FakeTime) -> None:
    clock = Clock(speed=60)
    clock.restart()
    fake.now += 2
    assert clock.scenario_s() == pytest.approx(120)


def test_a_paused_clock_stands_still_and_resumes_where_it_stood(fake: FakeTime) -> None:
    clock = Clock(speed=10)
    clock.restart()
    fake.now += 1
    clock.pause()
    assert clock.paused
    fake.now += 100
    assert clock.scenario_s() == pytest.approx(10)
    clock.resume()
    fake.now += 1
    assert clock.scenario_s() == pytest.approx(20)


def test_a_new_speed_applies_from_now_on(fake: FakeTime) -> None:
    clock = Clock(speed=1)
    clock.restart()
    fake.now += 5
    clock.set_speed(100)
    assert clock.scenario_s() == pytest.approx(5)
    fake.now += 1
    assert clock.scenario_s() == pytest.approx(105)
    assert clock.real_s(100) == pytest.approx(1)
    with pytest.raises(ClockError, match="positive"):
        clock.set_speed(0)


async def test_a_sleeper_waits_through_a_pause_and_wakes_on_a_faster_clock() -> None:
    clock = Clock(speed=1)
    clock.restart()
    sleeper = asyncio.create_task(clock.sleep_until(30))  # 30 real seconds at this speed
    await asyncio.sleep(0.05)
    clock.pause()
    await asyncio.sleep(0.2)
    assert not sleeper.done()
    started = time.monotonic()
    clock.resume()
    clock.set_speed(1000)  # 30 scenario seconds are now 30 ms
    await asyncio.wait_for(sleeper, timeout=5)
    assert time.monotonic() - started < 2
    assert clock.scenario_s() >= 30


def test_the_virtual_loop_jumps_to_the_next_timer_at_once() -> None:
    async def sleeper() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        await asyncio.sleep(3600)
        await asyncio.sleep(1e-9)  # shorter than the loop's microsecond: still moves time
        return loop.time(), time.monotonic() - started

    with asyncio.Runner(loop_factory=virtual_loop) as runner:
        virtual, real = runner.run(sleeper())
    assert virtual == 3600.000001
    assert real < 60  # an hour of virtual time is not waited for


def test_virtual_time_stands_still_while_a_thread_works() -> None:
    fired: list[float] = []

    async def main() -> tuple[float, float, list[float]]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.001, lambda: fired.append(loop.time()))
        before = loop.time()
        # the thread takes real time; a timer due in a virtual millisecond must not fire meanwhile
        await asyncio.to_thread(time.sleep, 0.2)
        after = loop.time()
        seen = list(fired)
        await asyncio.sleep(0.01)
        return before, after, seen

    with asyncio.Runner(loop_factory=virtual_loop) as runner:
        before, after, seen = runner.run(main())
    assert after == before
    assert seen == []
    assert fired == [0.001]
