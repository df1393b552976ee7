"""The supervisor restarts a crash-looping child with growing delays and never stops the others."""

from __future__ import annotations

from collections.abc import Sequence

from project.supervisor import EX_CONFIG, Child, RestartPolicy, Supervisor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeProcess:
    pids = iter(range(100, 10_000))

    def __init__(self) -> None:
        self.pid = next(self.pids)
        self.code: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.code

    def terminate(self) -> None:
        self.terminated = True
        self.code = -15

    def kill(self) -> None:
        self.code = -9

    def wait(self, timeout: float | None = None) -> int:
        return self.code or 0


class FakeChild(Child):
    """A child whose processes the test controls: it records every start and its time."""

    def __init__(self, name: str, clock: FakeClock, policy: RestartPolicy | None = None) -> None:
        self.processes: list[FakeProcess] = []
        self.start_times: list[float] = []
        super().__init__(
            name=name, argv=[name], policy=policy or RestartPolicy(), spawn=self._spawn
        )
        self._clock = clock

    def _spawn(self, argv: Sequence[str]) -> FakeProcess:
        process = FakeProcess()
        self.processes.append(process)
        self.start_times.append(self._clock())
        return process

    def crash(self, code: int = 1) -> None:
        self.processes[-1].code = code


def run_until(supervisor: Supervisor, clock: FakeClock, predicate, *, limit: float = 10_000):
    """Tick the supervisor (fake time) until predicate() holds; the exit code if it stopped."""
    end = clock.now + limit
    while clock.now < end:
        code = supervisor.watch_once()
        if code is not None:
            return code
        if predicate():
            return None
        clock.sleep(Supervisor.TICK_SECONDS)
    raise AssertionError("condition not reached")


def test_a_child_crashing_20_times_is_restarted_20_times_with_delays_growing_to_the_cap():
    clock = FakeClock()
    policy = RestartPolicy(first_delay=1, max_delay=30, healthy_after=60)
    flaky, web, worker = (FakeChild(n, clock, policy) for n in ("flaky", "web", "worker"))
    supervisor = Supervisor([flaky, web, worker], clock=clock, sleep=clock.sleep)
    now = clock()
    for child in supervisor.children:
        child.start(now)

    for _crash in range(20):
        flaky.crash()
        starts = len(flaky.processes)
        assert run_until(supervisor, clock, lambda s=starts: len(flaky.processes) > s) is None

    delays = [b - a for a, b in zip(flaky.start_times, flaky.start_times[1:], strict=False)]
    assert len(flaky.processes) == 21  # the first start and 20 restarts
    assert delays[:6] == [1, 2, 4, 8, 16, 30]
    assert all(d == 30 for d in delays[5:])
    assert len(web.processes) == len(worker.processes) == 1
    assert not web.processes[0].terminated and not worker.processes[0].terminated


def test_the_delay_resets_after_the_child_has_run_well_for_a_minute():
    clock = FakeClock()
    flaky = FakeChild("flaky", clock, RestartPolicy(first_delay=1, max_delay=30, healthy_after=60))
    supervisor = Supervisor([flaky], clock=clock, sleep=clock.sleep)
    flaky.start(clock())
    for _ in range(5):
        flaky.crash()
        starts = len(flaky.processes)
        run_until(supervisor, clock, lambda s=starts: len(flaky.processes) > s)
    assert flaky.failures == 5

    run_until(supervisor, clock, lambda: flaky.failures == 0, limit=61)
    flaky.crash()
    died_at = clock()
    run_until(supervisor, clock, lambda: len(flaky.processes) == 7)

    assert flaky.start_times[-1] - died_at <= 1.0


def test_a_child_exiting_with_ex_config_stops_serve_and_says_why(caplog):
    clock = FakeClock()
    bad, web = FakeChild("bad", clock), FakeChild("web", clock)
    supervisor = Supervisor([bad, web], clock=clock, sleep=clock.sleep)
    bad.start(clock())
    web.start(clock())

    bad.crash(EX_CONFIG)
    code = run_until(supervisor, clock, lambda: False, limit=5)
    supervisor._stop_all()

    assert code == EX_CONFIG
    assert "EX_CONFIG" in caplog.text and "configuration" in caplog.text
    assert web.processes[0].terminated  # serve stops everything on its way out
