"""The classes a plugin author subclasses. Every method may be a plain method or `async def`:
the SDK awaits coroutines on its event loop and runs plain methods in a worker thread, so a
blocking `poll` (a database query, a socket read) never stalls other partitions.

A source implements `partitions` (or `watch_partitions`) and `open`; the reader it returns
implements `poll`, and optionally `ack` and `close`. A sink implements `open`; its writer
implements `write`, `flush` and optionally `close`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from typing import ClassVar, Union

from ._config import Config, ConfigError, ConfigKey
from ._model import Cancellation, Connector, PartitionChange, Record, StreamPartition

MaybeAwaitable = Union[Awaitable[None], None]


class _Common:
    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    summary: ClassVar[str] = ""
    config_keys: ClassVar[Sequence[ConfigKey]] = ()

    def validate(self, config: Config) -> Sequence[ConfigError] | Awaitable[Sequence[ConfigError]]:
        """Extra checks, run only when the spec checks pass (`config` has its defaults)."""
        return ()

    def on_created(self, connector: Connector) -> MaybeAwaitable:
        """Once per connector, on the leader. Must be idempotent."""
        return None

    def on_updated(self, connector: Connector, previous_config: Config) -> MaybeAwaitable:
        return None

    def on_deleted(self, connector: Connector) -> MaybeAwaitable:
        return None


class SourceReader:
    """Reads one stream partition."""

    def poll(self, max_records: int, cancel: Cancellation) -> Sequence[Record] | Awaitable[Sequence[Record]]:
        """The next records, at most `max_records` (≥ 1), in offset order. Return as soon as
        there are any (never wait to fill `max_records`); wait while there are none. When
        `cancel` is set (drain, or the stream went away) return promptly with the records
        already taken from upstream (possibly none): on drain the SDK still sends them."""
        raise NotImplementedError

    def ack(self, offset: bytes, records: int) -> MaybeAwaitable:
        """Every record up to and including `offset` is stored in Kafka; `records` counts all
        records acknowledged on this stream. Called in order, one at a time."""
        return None

    def close(self) -> MaybeAwaitable:
        """The stream ended; release resources. Called exactly once."""
        return None


class Source(_Common):
    """A source plugin: set `name`, `version`, `summary`, `config_keys`; implement
    `partitions` (a fixed set) or `watch_partitions` (a changing one) and `open`."""

    def partitions(self, connector: Connector) -> Sequence[StreamPartition | str]:
        """The connector's partitions, when they never change."""
        raise NotImplementedError(f"{type(self).__name__} implements neither partitions() nor watch_partitions()")

    def watch_partitions(
        self, connector: Connector, cancel: Cancellation
    ) -> Iterator[PartitionChange] | AsyncIterator[PartitionChange]:
        """A snapshot first (`snapshot=True`), then changes, until `cancel` is set. The default
        sends `partitions()` once and then nothing."""
        return _static(self, connector)

    def open(self, connector: Connector, partition: StreamPartition, offset: bytes | None) -> SourceReader | Awaitable[SourceReader]:
        """Opens `partition` to read the records AFTER `offset` (None: from the beginning)."""
        raise NotImplementedError


async def _static(source: Source, connector: Connector) -> AsyncIterator[PartitionChange]:
    from ._calls import call

    added = await call(source.partitions, connector)
    yield PartitionChange(added=list(added), snapshot=True)


class SinkWriter:
    """Writes one stream partition (a Kafka topic-partition)."""

    #: Set by sinks that store Kafka offsets with their data: the offset of the last record held.
    resume_after_offset: int | None = None

    def write(self, records: Sequence[Record]) -> MaybeAwaitable:
        """Takes records in Kafka offset order; they need not be durable yet."""
        raise NotImplementedError

    def flush(self) -> MaybeAwaitable:
        """Makes every record written so far durable (commit, fsync). The SDK reports
        `durable` only after this returns."""
        raise NotImplementedError

    def close(self) -> MaybeAwaitable:
        """The stream ended; release resources. Called exactly once."""
        return None


class Sink(_Common):
    """A sink plugin: set `name`, `version`, `summary`, `config_keys`; implement `open`."""

    def open(self, connector: Connector, partition: StreamPartition, committed_offset: int | None) -> SinkWriter | Awaitable[SinkWriter]:
        """Opens `partition`; `committed_offset` is the Kafka offset of the last committed record."""
        raise NotImplementedError
