"""The Read and Write rules, driven over a real grpc.aio channel (docs/connector-protocol.md)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import grpc
import pytest

from conftest import Requests, connector, serve_in_process
from tributary_sdk import (
    Cancellation,
    ConfigKey,
    ConfigType,
    Connector,
    NotFound,
    Record,
    Sink,
    SinkWriter,
    Source,
    SourceReader,
    StreamPartition,
)
from tributary_sdk._gen.tributary.connector.v1 import connector_pb2 as pb


class Log:
    def __init__(self) -> None:
        self.polls: list[int] = []
        self.acks: list[tuple[bytes, int]] = []
        self.closed = 0
        self.flushed = 0
        self.written: list[int] = []


class CountingReader(SourceReader):
    """Sync reader: emits seq n, n+1, ... up to `limit`, then waits (blocking) for cancel."""

    def __init__(self, log: Log, start: int, limit: int, block_event: threading.Event | None = None) -> None:
        self.log, self.next, self.limit, self.block_event = log, start, limit, block_event

    def poll(self, max_records: int, cancel: Cancellation) -> list[Record]:
        self.log.polls.append(max_records)
        if self.next >= self.limit:
            if self.block_event is not None:
                self.block_event.set()
            cancel.wait()
            # Took one record from "upstream" during the poll: must still be sent on drain.
            if self.block_event is not None and self.next == self.limit:
                self.next += 1
                return [Record(offset=str(self.next - 1).encode(), value=b"late")]
            return []
        n = min(max_records, self.limit - self.next)
        out = [Record(offset=str(i).encode(), value=str(i).encode()) for i in range(self.next, self.next + n)]
        self.next += n
        return out

    def ack(self, offset: bytes, records: int) -> None:
        self.log.acks.append((offset, records))

    def close(self) -> None:
        self.log.closed += 1


class AsyncReader(SourceReader):
    def __init__(self, log: Log) -> None:
        self.log, self.next = log, 0

    async def poll(self, max_records: int, cancel: Cancellation) -> list[Record]:
        self.log.polls.append(max_records)
        if self.next >= 3:
            await cancel.wait_async()
            return []
        self.next += 1
        return [Record(offset=str(self.next - 1).encode())]

    async def close(self) -> None:
        self.log.closed += 1


class CountingSource(Source):
    name = "test-source"
    version = "1.2.3"
    summary = "for tests"
    config_keys = (ConfigKey("topic", ConfigType.STRING, required=True), ConfigKey("limit", ConfigType.INT, default="10"))

    def __init__(self, log: Log, mode: str = "sync", block: threading.Event | None = None) -> None:
        self.log, self.mode, self.block = log, mode, block

    def partitions(self, connector: Connector) -> Sequence[str]:
        return ["p0", "p1"]

    def open(self, connector: Connector, partition: StreamPartition, offset: bytes | None) -> SourceReader:
        if partition.id == "missing":
            raise NotFound(f'stream partition "{partition.id}" does not exist')
        if self.mode == "async":
            return AsyncReader(self.log)
        start = 0 if offset is None else int(offset) + 1
        return CountingReader(self.log, start, connector.config.int("limit"), self.block)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 20))


def read_open(partition: str = "p0", offset: bytes | None = None, **config: str) -> pb.ReadRequest:
    o = pb.ReadOpen(connector=connector(topic="t", **config), partition=pb.StreamPartition(id=partition))
    if offset is not None:
        o.offset = offset
    return pb.ReadRequest(open=o)


def credit(n: int) -> pb.ReadRequest:
    return pb.ReadRequest(credit=pb.ReadCredit(records=n))


def test_describe_and_validate_apply_the_spec() -> None:
    async def main() -> None:
        s = await serve_in_process(CountingSource(Log()))
        d = await s.stub.Describe(pb.DescribeRequest())
        assert (d.name, d.version, d.kind, d.summary) == ("test-source", "1.2.3", pb.CONNECTOR_KIND_SOURCE, "for tests")
        assert [(k.name, k.required, k.HasField("default_value")) for k in d.config_keys] == [("topic", True, False), ("limit", False, True)]
        v = await s.stub.Validate(pb.ValidateRequest(connector=connector(limit="x")))
        assert {(e.key, e.message) for e in v.errors} == {("topic", "is required"), ("limit", 'must be an integer, got "x"')}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await s.stub.Write(iter([])).read()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        await s.server.stop(0)

    run(main())


def test_credits_exactly_exhausted_then_drain_mid_poll_sends_the_polls_records_and_acks_still_arrive() -> None:
    log = Log()
    block = threading.Event()

    async def main() -> None:
        s = await serve_in_process(CountingSource(log, block=block))
        req = Requests()
        call = s.stub.Read(req.__aiter__())
        req.push(read_open(limit="5"))
        req.push(credit(3))
        got: list[bytes] = []
        while len(got) < 3:
            msg = await call.read()
            got += [r.offset for r in msg.batch.records]
        assert got == [b"0", b"1", b"2"]
        # Credits are exactly used up: no poll is running now and none may start.
        await asyncio.sleep(0.2)
        assert log.polls == [3]
        req.push(credit(10))
        msg = await call.read()
        assert [r.offset for r in msg.batch.records] == [b"3", b"4"]
        await asyncio.get_running_loop().run_in_executor(None, block.wait)  # the poll is blocked upstream
        req.push(pb.ReadRequest(ack=pb.ReadAck(offset=b"2", records=3)))
        req.push(pb.ReadRequest(drain=pb.ReadDrain()))
        late = await call.read()
        assert [r.value for r in late.batch.records] == [b"late"]
        drained = await call.read()
        assert drained.WhichOneof("kind") == "drained"
        assert (drained.drained.last_offset, drained.drained.records) == (b"5", 6)
        req.push(pb.ReadRequest(ack=pb.ReadAck(offset=b"5", records=6)))
        req.end()
        assert await call.read() == grpc.aio.EOF
        assert log.acks == [(b"2", 3), (b"5", 6)]
        assert max(log.polls) <= 10 and all(p >= 1 for p in log.polls)
        assert log.closed == 1
        await s.server.stop(0)

    run(main())


def test_a_request_stream_that_ends_without_drain_cancels_the_poll_and_closes_the_reader() -> None:
    log = Log()

    async def main() -> None:
        s = await serve_in_process(CountingSource(log, mode="async"))
        req = Requests()
        call = s.stub.Read(req.__aiter__())
        req.push(read_open())
        req.push(credit(100))
        seen = 0
        while seen < 3:
            seen += len((await call.read()).batch.records)
        req.end()
        assert await call.read() == grpc.aio.EOF
        for _ in range(50):
            if log.closed:
                break
            await asyncio.sleep(0.05)
        assert log.closed == 1
        await s.server.stop(0)

    run(main())


def test_resumes_after_the_committed_offset_and_rejects_malformed_opens() -> None:
    async def main() -> None:
        s = await serve_in_process(CountingSource(Log()))
        req = Requests()
        call = s.stub.Read(req.__aiter__())
        req.push(read_open(offset=b"6"))
        req.push(credit(100))
        assert [r.offset for r in (await call.read()).batch.records] == [b"7", b"8", b"9"]
        req.end()
        for first, code, text in [
            (credit(1), grpc.StatusCode.INVALID_ARGUMENT, 'the first message must be "open", got "credit"'),
            (pb.ReadRequest(open=pb.ReadOpen(connector=connector(topic="t"))), grpc.StatusCode.INVALID_ARGUMENT, "names no stream partition"),
            (read_open("missing"), grpc.StatusCode.NOT_FOUND, 'stream partition "missing" does not exist'),
        ]:
            bad = s.stub.Read(iter([first]))
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await bad.read()
            assert err.value.code() == code and text in (err.value.details() or "")
        twice = s.stub.Read(iter([read_open(), read_open()]))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            while await twice.read() != grpc.aio.EOF:
                pass
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and '"open" sent twice' in (err.value.details() or "")
        await s.server.stop(0)

    run(main())


def test_a_poll_returning_more_than_max_fails_the_stream_as_internal() -> None:
    class Greedy(SourceReader):
        def poll(self, max_records: int, cancel: Cancellation) -> list[Record]:
            return [Record(offset=b"x")] * (max_records + 1)

    class GreedySource(CountingSource):
        def open(self, connector: Connector, partition: StreamPartition, offset: bytes | None) -> SourceReader:
            return Greedy()

    async def main() -> None:
        s = await serve_in_process(GreedySource(Log()))
        call = s.stub.Read(iter([read_open(), credit(2)]))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call.read()
        assert err.value.code() == grpc.StatusCode.INTERNAL and "returned 3 records" in (err.value.details() or "")
        await s.server.stop(0)

    run(main())


def test_watch_partitions_sends_a_snapshot_and_keeps_the_stream_open() -> None:
    async def main() -> None:
        s = await serve_in_process(CountingSource(Log()))
        call = s.stub.WatchPartitions(pb.WatchPartitionsRequest(connector=connector(topic="t")))
        first = await call.read()
        assert first.snapshot and [p.id for p in first.added] == ["p0", "p1"]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call.read(), 0.3)
        call.cancel()
        await s.server.stop(0)

    run(main())


class RecordingWriter(SinkWriter):
    def __init__(self, log: Log, gate: asyncio.Event | None) -> None:
        self.log, self.gate = log, gate

    async def write(self, records: Sequence[Record]) -> None:
        self.log.written += [r.kafka_offset or 0 for r in records]

    async def flush(self) -> None:
        if self.gate is not None and self.log.written:
            await self.gate.wait()
        self.log.flushed += 1

    def close(self) -> None:
        self.log.closed += 1


class RecordingSink(Sink):
    name = "test-sink"
    config_keys = ()

    def __init__(self, log: Log, gate: asyncio.Event | None = None) -> None:
        self.log, self.gate = log, gate

    def open(self, connector: Connector, partition: StreamPartition, committed_offset: int | None) -> SinkWriter:
        return RecordingWriter(self.log, self.gate)


def write_open() -> pb.WriteRequest:
    return pb.WriteRequest(open=pb.WriteOpen(connector=connector(), partition=pb.StreamPartition(id="t-0", topic="t", kafka_partition=0)))


def batch(*offsets: int) -> pb.WriteRequest:
    return pb.WriteRequest(batch=pb.RecordBatch(records=[pb.Record(kafka_offset=o, value=b"v") for o in offsets]))


def test_a_sink_reports_durable_only_after_its_flush_returned() -> None:
    log = Log()

    async def main() -> None:
        gate = asyncio.Event()
        s = await serve_in_process(RecordingSink(log, gate))
        req = Requests()
        call = s.stub.Write(req.__aiter__())
        req.push(write_open())
        opened = await call.read()
        assert opened.WhichOneof("kind") == "opened" and not opened.opened.HasField("resume_after_offset")
        req.push(pb.WriteRequest(flush=pb.WriteFlush()))  # nothing received: no durable
        req.push(batch(10, 11))
        req.push(batch(12))
        req.push(pb.WriteRequest(flush=pb.WriteFlush()))
        pending = asyncio.ensure_future(call.read())
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(pending), 0.3)
        assert log.written == [10, 11, 12] and log.flushed == 1  # only the empty flush returned
        gate.set()
        durable = await pending
        assert durable.durable.through_offset == 12 and log.flushed == 2
        req.end()
        assert await call.read() == grpc.aio.EOF
        assert log.closed == 1
        bad = s.stub.Write(iter([write_open(), pb.WriteRequest(batch=pb.RecordBatch(records=[pb.Record(value=b"v")]))]))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            while await bad.read() != grpc.aio.EOF:
                pass
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "has no kafka_offset" in (err.value.details() or "")
        await s.server.stop(0)

    run(main())
