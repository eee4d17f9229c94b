"""Throughput bookkeeping for the benchmarks.

Each benchmark records how many events (rows, steps, impressions) one call
handles; the session ends with a table of events per second and, within
each group, the ratio to the group's reference measured in the same run.
Machines here are shared and noisy, so the ratios are what to quote.
"""
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
