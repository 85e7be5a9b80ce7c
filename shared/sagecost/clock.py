"""The one place that reads the wall clock; the simulator replaces it with a virtual one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


def use(source: Callable[[], datetime]) -> None:
    global _source  # noqa: PLW0603 - one process-wide clock, swapped only by the simulator and tests
    _source = source


def use_wall_clock() -> None:
    use(lambda: datetime.now(UTC))


@contextmanager
def fixed_at(moment: datetime) -> Iterator[None]:
    """The clock stands still at `moment` inside the block, then is the wall clock again."""
    use(lambda: moment)
    try:
        yield
    finally:
        use_wall_clock()
