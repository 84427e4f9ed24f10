"""Calling plugin code that may be sync or async."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# Plain (blocking) plugin methods run here. Many partitions may block in poll() at once, so the
# pool is larger than asyncio's default.
_executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="tributary-plugin")


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Awaits `fn(*args)`: coroutine functions on the loop, plain functions in a thread (their
    result is awaited too if it is awaitable)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(_executor, lambda: fn(*args))
    if inspect.isawaitable(result):
        return await result
    return result


_DONE = object()


async def iterate(it: Iterator[T] | AsyncIterator[T]) -> AsyncIterator[T]:
    """Iterates a sync iterator (each step in a thread) or an async one."""
    if hasattr(it, "__anext__"):
        async for item in it:  # type: ignore[union-attr]
            yield item
        return
    loop = asyncio.get_running_loop()
    sync_it: Iterator[T] = it
    while True:
        item = await loop.run_in_executor(_executor, next, sync_it, _DONE)
        if item is _DONE:
            return
        yield item
