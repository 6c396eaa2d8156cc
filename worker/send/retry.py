"""The retry policy: the one module that uses tenacity.

Retry only on named failures (`RetryableError`: 429, 5xx, connection errors, timeouts), never on other 4xx.
The server's Retry-After wins over computed backoff; without it, exponential backoff with full jitter
(tenacity's `wait_exponential_jitter` clips jitter at its max, so late retries would stampede).
Attempts and total time are both capped, and a Retry-After above `max_retry_after_s` ends the job as
throttled instead of sleeping for hours. The first attempt runs outside tenacity: most jobs need only
one, and entering tenacity costs CPU and garbage on every call. For the same reason tenacity is imported
at the first retry, not at start-up (~5 ms of CPU a run that needs no retry never pays).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from worker.errors import RetryableError

if TYPE_CHECKING:
    from tenacity import RetryCallState
    from tenacity.stop import stop_base

T = TypeVar("T")
RetryHook = Callable[[RetryableError, float], None]

_instant = False


def set_testing(*, instant: bool) -> None:
    """Make every backoff and Retry-After wait zero (for tests that exercise many retries)."""
    global _instant  # noqa: PLW0603 - a process-wide test switch, like stamina's set_testing
    _instant = instant


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long one job may be retried."""

    max_attempts: int = 8
    max_elapsed_s: float = 600.0
    max_retry_after_s: float = 300.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0

    def delay(self, error: RetryableError, retry_number: int) -> float:
        """Seconds to wait before retry number `retry_number` (1 = the second attempt)."""
        if _instant:
            return 0.0
        if error.retry_after is not None:
            return error.retry_after
        # Full jitter (AWS architecture blog): uniform over the whole exponential window.
        return random.uniform(0.0, min(self.backoff_max_s, self.backoff_initial_s * 2 ** (retry_number - 1)))

    def waits_too_long(self, error: RetryableError) -> bool:
        """True when the server asks for a wait longer than we are willing to sleep."""
        return error.retry_after is not None and error.retry_after > self.max_retry_after_s


def _last_error(retry_state: RetryCallState) -> RetryableError:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    if not isinstance(error, RetryableError):  # the retry predicate only lets these through
        raise TypeError(f"unexpected outcome {error!r}")
    return error


@functools.cache
def _retry_after_too_long() -> Callable[[RetryPolicy], stop_base]:
    """The stop condition "the server asks for a wait longer than the policy allows" (a class made once, at
    the first retry: tenacity is imported then)."""
    from tenacity.stop import stop_base

    class RetryAfterTooLong(stop_base):
        def __init__(self, policy: RetryPolicy) -> None:
            self.policy = policy

        def __call__(self, retry_state: RetryCallState) -> bool:
            return self.policy.waits_too_long(_last_error(retry_state))

    return RetryAfterTooLong


async def retry_after_failure(
    first: RetryableError,
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    started: float,
    on_retry: RetryHook | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Continue after a first attempt (made outside, at `started`) failed with `first`.

    `sleep` waits between attempts (default `asyncio.sleep`; the systemic guard's may end early).
    """
    sleep = sleep or asyncio.sleep
    delay = policy.delay(first, 1)
    if policy.max_attempts <= 1 or policy.waits_too_long(first) or delay >= policy.max_elapsed_s:
        raise first
    if on_retry is not None:
        on_retry(first, delay)
    await sleep(delay)

    def wait(retry_state: RetryCallState) -> float:
        return policy.delay(_last_error(retry_state), retry_state.attempt_number + 1)

    def before_sleep(retry_state: RetryCallState) -> None:
        if on_retry is not None and retry_state.next_action is not None:
            on_retry(_last_error(retry_state), retry_state.next_action.sleep)

    from tenacity import (  # at the first retry
        AsyncRetrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_before_delay,
    )

    remaining = max(policy.max_elapsed_s - (time.monotonic() - started), 0.0)
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(policy.max_attempts - 1)
        | stop_before_delay(remaining)
        | _retry_after_too_long()(policy),
        wait=wait,
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return await retrying(attempt)
