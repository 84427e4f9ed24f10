"""What plugin code sees: connectors, stream partitions, records, cancellation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._config import Config
from ._data import Schema, from_data, to_data
from ._errors import InvalidArgument
from ._gen.tributary.connector.v1 import connector_pb2 as pb


@dataclass(frozen=True)
class Connector:
    """The connector a call is about; `config` has the spec's defaults applied."""

    name: str
    config: Config


@dataclass(frozen=True)
class StreamPartition:
    """A unit of parallel work: a table, a file, a Kafka topic-partition (for sinks)."""

    id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    topic: str | None = None
    kafka_partition: int | None = None

    def to_proto(self) -> pb.StreamPartition:
        out = pb.StreamPartition(id=self.id, attributes=dict(self.attributes))
        if self.topic is not None:
            out.topic = self.topic
        if self.kafka_partition is not None:
            out.kafka_partition = self.kafka_partition
        return out

    @staticmethod
    def from_proto(msg: pb.StreamPartition) -> StreamPartition:
        return StreamPartition(
            id=msg.id,
            attributes=dict(msg.attributes),
            topic=msg.topic if msg.HasField("topic") else None,
            kafka_partition=msg.kafka_partition if msg.HasField("kafka_partition") else None,
        )


@dataclass(frozen=True)
class PartitionChange:
    """One message of WatchPartitions: the first has `snapshot=True` and lists every partition."""

    added: Sequence[StreamPartition | str] = ()
    removed: Sequence[str] = ()
    snapshot: bool = False

    def to_proto(self) -> pb.WatchPartitionsResponse:
        added = [StreamPartition(p) if isinstance(p, str) else p for p in self.added]
        return pb.WatchPartitionsResponse(snapshot=self.snapshot, added=[p.to_proto() for p in added], removed=list(self.removed))


_UNSET: Any = object()


@dataclass
class Record:
    """One record. A source sets `offset` (its opaque position: reopening at it yields the
    records after this one) and either `key`/`value` bytes or `structured_key`/`structured_value`
    (Python values, see tributary_sdk._data) with optional schemas, never both for the same side.
    `None` key and value are Kafka nulls. A sink receives `kafka_offset`, and the structured form
    when the connector's converter produced one."""

    offset: bytes = b""
    key: bytes | None = None
    value: bytes | None = None
    headers: Sequence[tuple[str, bytes | None]] = ()
    timestamp_ms: int | None = None
    topic: str | None = None
    kafka_partition: int | None = None
    key_schema: Schema | None = None
    value_schema: Schema | None = None
    structured_key: Any = _UNSET
    structured_value: Any = _UNSET
    kafka_offset: int | None = None

    @property
    def has_structured_key(self) -> bool:
        return self.structured_key is not _UNSET

    @property
    def has_structured_value(self) -> bool:
        return self.structured_value is not _UNSET

    def to_proto(self) -> pb.Record:
        msg = pb.Record(offset=self.offset)
        if self.key is not None:
            msg.key = self.key
        if self.value is not None:
            msg.value = self.value
        for k, v in self.headers:
            h = msg.headers.add(key=k)
            if v is not None:
                h.value = v
        if self.timestamp_ms is not None:
            msg.timestamp_ms = self.timestamp_ms
        if self.topic is not None:
            msg.topic = self.topic
        if self.kafka_partition is not None:
            msg.kafka_partition = self.kafka_partition
        if self.kafka_offset is not None:
            msg.kafka_offset = self.kafka_offset
        if self.key_schema is not None:
            msg.key_schema.CopyFrom(self.key_schema.to_proto())
        if self.value_schema is not None:
            msg.value_schema.CopyFrom(self.value_schema.to_proto())
        if self.structured_key is not _UNSET:
            if self.key is not None:
                raise InvalidArgument("record sets both key bytes and structured_key; set one")
            msg.structured_key.CopyFrom(to_data(self.structured_key, self.key_schema, "key"))
        if self.structured_value is not _UNSET:
            if self.value is not None:
                raise InvalidArgument("record sets both value bytes and structured_value; set one")
            msg.structured_value.CopyFrom(to_data(self.structured_value, self.value_schema, "value"))
        return msg

    @staticmethod
    def from_proto(msg: pb.Record) -> Record:
        key_schema = Schema.from_proto(msg.key_schema) if msg.HasField("key_schema") else None
        value_schema = Schema.from_proto(msg.value_schema) if msg.HasField("value_schema") else None
        return Record(
            offset=bytes(msg.offset),
            key=bytes(msg.key) if msg.HasField("key") else None,
            value=bytes(msg.value) if msg.HasField("value") else None,
            headers=tuple((h.key, bytes(h.value) if h.HasField("value") else None) for h in msg.headers),
            timestamp_ms=msg.timestamp_ms if msg.HasField("timestamp_ms") else None,
            topic=msg.topic if msg.HasField("topic") else None,
            kafka_partition=msg.kafka_partition if msg.HasField("kafka_partition") else None,
            key_schema=key_schema,
            value_schema=value_schema,
            structured_key=from_data(msg.structured_key, key_schema) if msg.HasField("structured_key") else _UNSET,
            structured_value=from_data(msg.structured_value, value_schema) if msg.HasField("structured_value") else _UNSET,
            kafka_offset=msg.kafka_offset if msg.HasField("kafka_offset") else None,
        )


class Cancellation:
    """Set when a poll must return (drain, or the stream went away). Usable from a sync
    `poll` running in a worker thread (`is_set`, `wait(timeout)`) and from an async one
    (`await cancel.wait_async(timeout)`)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            loop.call_soon_threadsafe(_resolve, fut)

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until cancelled or `timeout` seconds pass; True if cancelled."""
        return self._event.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Waits until cancelled or `timeout` seconds pass; True if cancelled."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._event.is_set():
                return True
            self._waiters.append((loop, fut))
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters = [(lp, f) for lp, f in self._waiters if f is not fut]
        return self._event.is_set()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
