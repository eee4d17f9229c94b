"""Throughput bookkeeping for the benchmarks.

Each benchmark records how many events (rows, steps, impressions) one call
handles; the session ends with a table of events per second and, within
each group, the ratio to the group's reference measured in the same run.
Machines here are shared and noisy, so the ratios are what to quote.
"""
import time

import pytest

_records = []


class Throughput:
    def __init__(self, benchmark):
        self.benchmark = benchmark

    def __call__(self, group, name, function, events_of, rounds=3, reference=False, setup=None,
                 warmup_rounds=1):
        """Time ``function`` (after ``setup``, which is not timed) and record
        ``events_of(result)`` events per call under ``group``. Jobs too long
        to run twice pass ``rounds=1, warmup_rounds=0``."""
        result = self.benchmark.pedantic(function, setup=setup, rounds=rounds, iterations=1,
                                         warmup_rounds=warmup_rounds)
        events = events_of(result)
        seconds = self.benchmark.stats.stats.min
        self.benchmark.extra_info.update(events=events, events_per_second=events / seconds)
        _records.append((group, name, events / seconds, seconds, reference))
        return result

    def alternating(self, group, jobs, events_of, rounds=4):
        """Time ``jobs`` (``(name, function)`` pairs, the first the group's
        reference) in turn, round after round, after one warm-up round;
        record each job's best round and return its last result. A change in
        the machine's load then hits every job alike, which separate
        benchmarks run minutes apart cannot promise."""
        best = {name: float("inf") for name, _ in jobs}
        events, results = {}, {}
        for round_index in range(rounds + 1):
            for name, function in jobs:
                results.pop(name, None)  # what a job holds does not weigh on the next
                start = time.perf_counter()
                result = function()
                seconds = time.perf_counter() - start
                events[name] = events_of(result)
                if round_index > 0:
                    best[name] = min(best[name], seconds)
                if round_index == rounds:
                    results[name] = result
                del result
        for index, (name, _) in enumerate(jobs):
            _records.append((group, name, events[name] / best[name], best[name], index == 0))
        self.benchmark.extra_info.update(best_seconds=best, events=events)
        return results


@pytest.fixture
def throughput(benchmark):
    return Throughput(benchmark)


def pytest_terminal_summary(terminalreporter):
    if not _records:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'group':<26} {'benchmark':<40} {'s/call':>8} {'events/s':>13} {'x reference':>12}")
    references = {group: rate for group, _, rate, _, is_reference in _records if is_reference}
    for group, name, rate, seconds, is_reference in _records:
        ratio = "reference" if is_reference else (
            f"{rate / references[group]:.2f}" if group in references else "-")
        write(f"{group:<26} {name:<40} {seconds:>8.3f} {rate:>13,.0f} {ratio:>12}")
