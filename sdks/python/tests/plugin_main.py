"""A minimal plugin process for test_serve.py."""

from __future__ import annotations

from collections.abc import Sequence

from tributary_sdk import Cancellation, Connector, Record, Source, SourceReader, StreamPartition, serve


class Idle(SourceReader):
    def poll(self, max_records: int, cancel: Cancellation) -> list[Record]:
        cancel.wait()
        return []


class IdleSource(Source):
    name = "idle-source"

    def partitions(self, connector: Connector) -> Sequence[str]:
        return ["p0"]

    def open(self, connector: Connector, partition: StreamPartition, offset: bytes | None) -> SourceReader:
        print("a stray print after the handshake goes to stderr")
        return Idle()


if __name__ == "__main__":
    serve(IdleSource())
