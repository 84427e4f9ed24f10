from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator

import grpc
import pytest

from tributary_sdk import Sink, Source, create_server
from tributary_sdk._gen.tributary.connector.v1 import connector_pb2 as pb
from tributary_sdk._gen.tributary.connector.v1 import connector_pb2_grpc as pb_grpc


class Served:
    """A plugin served in this process on a unix socket, with a client stub."""

    def __init__(self, server: grpc.aio.Server, channel: grpc.aio.Channel) -> None:
        self.server = server
        self.channel = channel
        self.stub = pb_grpc.ConnectorPluginServiceStub(channel)


async def serve_in_process(plugin: Source | Sink) -> Served:
    folder = tempfile.mkdtemp(prefix="tsdk-test-")
    address = f"unix://{os.path.join(folder, 's.sock')}"
    server = create_server(plugin)
    server.add_insecure_port(address)
    await server.start()
    channel = grpc.aio.insecure_channel(address)
    return Served(server, channel)


class Requests:
    """A request stream the test pushes into."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[pb.ReadRequest | pb.WriteRequest | None] = asyncio.Queue()

    def push(self, msg: pb.ReadRequest | pb.WriteRequest) -> None:
        self.queue.put_nowait(msg)

    def end(self) -> None:
        self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[pb.ReadRequest | pb.WriteRequest]:
        while True:
            msg = await self.queue.get()
            if msg is None:
                return
            yield msg


def connector(**config: str) -> pb.Connector:
    return pb.Connector(name="c", config=config)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
