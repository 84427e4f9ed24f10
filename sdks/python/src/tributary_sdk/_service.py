"""The connector protocol's server side (docs/connector-protocol.md), on grpc.aio.

Rules kept here so plugin authors do not have to:

- a source never sends more records than the credits granted, never polls for 0 records,
  sends records as soon as a poll returns them, and after `drain` sends the records of the poll
  in progress, then `drained{last_offset, records}`, then nothing until the worker ends the
  request stream; acks reach `ack()` one at a time, in order, also after `drain`;
- a request stream that ends (or a call that is cancelled) without `drain` cancels the poll,
  closes the reader and ends;
- a sink answers `flush` with `durable` through the Kafka offset of the last record received,
  only after the writer's `flush()` returned;
- errors leave as gRPC statuses (`PluginError.code`, else INTERNAL) with their message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from ._calls import call, iterate
from ._config import Config, ConfigKey, apply_defaults, validate_config
from ._errors import FailedPrecondition, InternalError, InvalidArgument, status_of
from ._gen.tributary.connector.v1 import connector_pb2 as pb
from ._gen.tributary.connector.v1 import connector_pb2_grpc as pb_grpc
from ._model import Cancellation, Connector, PartitionChange, Record, StreamPartition
from ._plugin import Sink, SinkWriter, Source, SourceReader

log = logging.getLogger("tributary_sdk")


def _connector(keys: Any, msg: pb.Connector) -> Connector:
    return Connector(name=msg.name, config=Config(apply_defaults(keys, dict(msg.config))))


async def _abort(context: grpc.aio.ServicerContext, err: BaseException) -> None:
    code, message = status_of(err)
    if code is grpc.StatusCode.INTERNAL:
        log.error("call failed: %s", message, exc_info=err)
    await context.abort(code, message)


def _guarded(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Turns exceptions escaping a handler into gRPC statuses."""

    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(self, request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as err:  # noqa: BLE001 - every error becomes a status
            await _abort(context, err)

    handler.__name__ = fn.__name__
    return handler


class PluginService(pb_grpc.ConnectorPluginServiceServicer):
    """ConnectorPluginService for one Source or Sink."""

    def __init__(self, plugin: Source | Sink) -> None:
        if not getattr(plugin, "name", ""):
            raise InvalidArgument(f"{type(plugin).__name__}.name must be set")
        self.plugin = plugin
        self.keys: list[ConfigKey] = list(plugin.config_keys)
        self.kind = pb.CONNECTOR_KIND_SOURCE if isinstance(plugin, Source) else pb.CONNECTOR_KIND_SINK

    # ---- unary ----

    @_guarded
    async def Describe(self, request: pb.DescribeRequest, context: grpc.aio.ServicerContext) -> pb.DescribeResponse:
        p = self.plugin
        return pb.DescribeResponse(name=p.name, version=p.version, kind=self.kind, summary=p.summary, config_keys=[k.to_proto() for k in self.keys])

    @_guarded
    async def Validate(self, request: pb.ValidateRequest, context: grpc.aio.ServicerContext) -> pb.ValidateResponse:
        raw = dict(request.connector.config)
        problems = validate_config(self.keys, raw)
        if not problems:
            problems = list(await call(self.plugin.validate, Config(apply_defaults(self.keys, raw))))
        return pb.ValidateResponse(errors=[pb.ConfigError(key=e.key, message=e.message) for e in problems])

    @_guarded
    async def ConnectorCreated(self, request: pb.ConnectorCreatedRequest, context: grpc.aio.ServicerContext) -> pb.ConnectorCreatedResponse:
        await call(self.plugin.on_created, _connector(self.keys, request.connector))
        return pb.ConnectorCreatedResponse()

    @_guarded
    async def ConnectorUpdated(self, request: pb.ConnectorUpdatedRequest, context: grpc.aio.ServicerContext) -> pb.ConnectorUpdatedResponse:
        await call(self.plugin.on_updated, _connector(self.keys, request.connector), Config(dict(request.previous_config)))
        return pb.ConnectorUpdatedResponse()

    @_guarded
    async def ConnectorDeleted(self, request: pb.ConnectorDeletedRequest, context: grpc.aio.ServicerContext) -> pb.ConnectorDeletedResponse:
        await call(self.plugin.on_deleted, _connector(self.keys, request.connector))
        return pb.ConnectorDeletedResponse()

    # ---- streams ----

    @_guarded
    async def WatchPartitions(self, request: pb.WatchPartitionsRequest, context: grpc.aio.ServicerContext) -> None:
        source = self.plugin
        if not isinstance(source, Source):
            raise FailedPrecondition(f'plugin "{source.name}" is a sink: its partitions are the Kafka topic-partitions it reads')
        cancel = Cancellation()
        try:
            changes = await call(source.watch_partitions, _connector(self.keys, request.connector), cancel)
            first = True
            async for change in iterate(changes):
                if not isinstance(change, PartitionChange):
                    raise InternalError(f"watch_partitions yielded {type(change).__name__}, not a PartitionChange")
                if first and not change.snapshot:
                    change = PartitionChange(added=change.added, removed=change.removed, snapshot=True)
                first = False
                await context.write(change.to_proto())
            # Keep the stream open until the worker cancels it, even when nothing changes.
            await asyncio.Event().wait()
        finally:
            cancel.set()

    @_guarded
    async def Read(self, request_iterator: AsyncIterator[pb.ReadRequest], context: grpc.aio.ServicerContext) -> None:
        source = self.plugin
        if not isinstance(source, Source):
            raise FailedPrecondition(f'plugin "{source.name}" is a sink: it does not implement Read')
        requests = request_iterator.__aiter__()
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            return
        if first.WhichOneof("kind") != "open":
            raise InvalidArgument(f'Read: the first message must be "open", got "{first.WhichOneof("kind") or "empty"}"')
        open_ = first.open
        if not open_.partition.id:
            raise InvalidArgument('Read: "open" names no stream partition (field "partition")')
        offset = bytes(open_.offset) if open_.HasField("offset") else None
        reader: SourceReader = await call(source.open, _connector(self.keys, open_.connector), StreamPartition.from_proto(open_.partition), offset)
        await _ReadStream(source.name, reader, requests, context).run()

    @_guarded
    async def Write(self, request_iterator: AsyncIterator[pb.WriteRequest], context: grpc.aio.ServicerContext) -> None:
        sink = self.plugin
        if not isinstance(sink, Sink):
            raise FailedPrecondition(f'plugin "{sink.name}" is a source: it does not implement Write')
        requests = request_iterator.__aiter__()
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            return
        if first.WhichOneof("kind") != "open":
            raise InvalidArgument(f'Write: the first message must be "open", got "{first.WhichOneof("kind") or "empty"}"')
        open_ = first.open
        if not open_.partition.id:
            raise InvalidArgument('Write: "open" names no stream partition (field "partition")')
        committed = open_.committed_offset if open_.HasField("committed_offset") else None
        writer: SinkWriter = await call(sink.open, _connector(self.keys, open_.connector), StreamPartition.from_proto(open_.partition), committed)
        failing = False
        try:
            resume = writer.resume_after_offset
            opened = pb.WriteOpened()
            if resume is not None:
                opened.resume_after_offset = resume
            await context.write(pb.WriteResponse(opened=opened))
            last_received: int | None = None
            async for request in requests:
                kind = request.WhichOneof("kind")
                if kind == "batch":
                    batch = request.batch.records
                    if not batch:
                        continue
                    for i, r in enumerate(batch):
                        if not r.HasField("kafka_offset"):
                            raise InvalidArgument(f"Write: record {i} of the batch has no kafka_offset")
                    await call(writer.write, [Record.from_proto(r) for r in batch])
                    last_received = batch[-1].kafka_offset
                elif kind == "flush":
                    through = last_received
                    await call(writer.flush)
                    durable = through if through is not None else writer.resume_after_offset
                    if durable is not None:
                        await context.write(pb.WriteResponse(durable=pb.WriteDurable(through_offset=durable)))
                elif kind == "open":
                    raise InvalidArgument('Write: "open" sent twice on one stream')
                # Unknown kinds come from a newer worker: ignore them.
        except BaseException:
            failing = True
            raise
        finally:
            await _close_quietly(writer.close, failing)


async def _close_quietly(close: Callable[[], Any], failing: bool) -> None:
    try:
        await call(close)
    except Exception:
        # Do not hide the error that ended the stream behind a failure to clean up.
        if not failing:
            raise
        log.warning("close failed after an error", exc_info=True)


class _ReadStream:
    """One Read stream's state: credits, the poll in progress, drain."""

    def __init__(self, plugin: str, reader: SourceReader, requests: AsyncIterator[pb.ReadRequest], context: grpc.aio.ServicerContext) -> None:
        self.plugin = plugin
        self.reader = reader
        self.requests = requests
        self.context = context
        self.credits = 0
        self.draining = False
        self.ended = False
        self.failure: BaseException | None = None
        self.poll: Cancellation | None = None
        self.changed = asyncio.Event()

    async def _pump(self) -> None:
        """Handles requests as they come, while a poll may be in progress."""
        try:
            async for request in self.requests:
                kind = request.WhichOneof("kind")
                if kind == "credit":
                    self.credits += request.credit.records
                    self.changed.set()
                elif kind == "ack":
                    await call(self.reader.ack, bytes(request.ack.offset), request.ack.records)
                elif kind == "drain":
                    if not self.draining:
                        self.draining = True
                        if self.poll is not None:
                            self.poll.set()
                        self.changed.set()
                elif kind == "open":
                    raise InvalidArgument('Read: "open" sent twice on one stream')
                # Unknown kinds come from a newer worker: ignore them.
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # noqa: BLE001 - reported by run()
            self.failure = err
        finally:
            self.ended = True
            if self.poll is not None:
                self.poll.set()
            self.changed.set()

    async def _wait_for_change(self) -> None:
        await self.changed.wait()
        self.changed.clear()

    async def run(self) -> None:
        pump = asyncio.ensure_future(self._pump())
        sent = 0
        last_offset: bytes | None = None
        failing = False
        try:
            while not self.draining and not self.ended:
                if self.credits == 0:
                    await self._wait_for_change()
                    continue
                max_records = self.credits
                cancel = self.poll = Cancellation()
                try:
                    records = list(await call(self.reader.poll, max_records, cancel))
                except Exception:
                    if not cancel.is_set():
                        raise
                    records = []  # throwing after a cancel counts as returning none
                finally:
                    self.poll = None
                if len(records) > max_records:
                    raise InternalError(
                        f'plugin "{self.plugin}": poll(max_records={max_records}) returned {len(records)} records; '
                        "a SourceReader must return at most max_records"
                    )
                if self.ended and not self.draining:
                    break
                if records:
                    batch = pb.RecordBatch(records=[r.to_proto() for r in records])
                    self.credits -= len(records)
                    sent += len(records)
                    last_offset = records[-1].offset
                    await self.context.write(pb.ReadResponse(batch=batch))
                elif not self.draining and not self.ended:
                    # A poll that returned nothing without a cancel: let other work run first.
                    await asyncio.sleep(0)
            if self.failure is not None:
                raise self.failure
            if self.draining:
                drained = pb.ReadDrained(records=sent)
                if last_offset is not None:
                    drained.last_offset = last_offset
                await self.context.write(pb.ReadResponse(drained=drained))
                # Nothing more is sent; final acks still arrive until the worker ends the stream.
                while not self.ended:
                    await self._wait_for_change()
                if self.failure is not None:
                    raise self.failure
        except BaseException:
            failing = True
            raise
        finally:
            if not pump.done():
                pump.cancel()
            if self.poll is not None:
                self.poll.set()
            await _close_quietly(self.reader.close, failing)
