"""The main of a plugin child process (docs/connector-protocol.md §1).

Binds a gRPC server to a unix socket in a fresh temp dir, serves the connector service and
`grpc.health.v1.Health` (SERVING for any service name), prints exactly one line on stdout,
`TRIBUTARY_PLUGIN 1 unix:///abs/path.sock`, and then:

- on SIGTERM/SIGINT stops accepting calls, lets in-flight calls finish for a grace (2 s by
  default; open Read/Write streams are cancelled after it), then exits 0;
- when stdin reaches end-of-file (the worker is gone, however it died) exits at once;
- removes the socket dir on the way out.

stdout carries the handshake only: after it, `sys.stdout` is pointed at stderr so a stray
`print` cannot corrupt the protocol. Logs go to stderr (the worker keeps their tail).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ._gen.tributary.connector.v1 import connector_pb2_grpc as pb_grpc
from ._plugin import Sink, Source
from ._service import PluginService

PROTOCOL_VERSION = 1
HANDSHAKE_PREFIX = "TRIBUTARY_PLUGIN"

log = logging.getLogger("tributary_sdk")


class ServingHealth(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """grpc.health.v1.Health that answers SERVING for the server and for any service name."""

    async def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        await asyncio.Event().wait()


def create_server(plugin: Source | Sink) -> grpc.aio.Server:
    """A grpc.aio server with the plugin's service and health added (not bound, not started),
    e.g. to serve a plugin as a remote endpoint (`grpc://host:port`) yourself."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.max_send_message_length", 64 * 1024 * 1024)])
    pb_grpc.add_ConnectorPluginServiceServicer_to_server(PluginService(plugin), server)  # type: ignore[no-untyped-call]
    health_pb2_grpc.add_HealthServicer_to_server(ServingHealth(), server)
    return server


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        level = os.environ.get("TRIBUTARY_PLUGIN_LOG_LEVEL", "info").upper()
        logging.basicConfig(stream=sys.stderr, level=getattr(logging, level, logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _exit_now(socket_dir: str, why: str) -> None:
    log.info("plugin exiting: %s", why)
    shutil.rmtree(socket_dir, ignore_errors=True)
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    # os._exit: blocking poll() calls in worker threads must not hold the process up.
    os._exit(0)


async def serve_async(plugin: Source | Sink, *, grace_s: float = 2.0, exit_on_stdin_close: bool = True) -> None:
    """Serves `plugin` as a child process until SIGTERM/SIGINT or stdin EOF; never returns."""
    _configure_logging()
    socket_dir = tempfile.mkdtemp(prefix="tributary-plugin-")
    address = f"unix://{os.path.join(socket_dir, 'plugin.sock')}"
    server = create_server(plugin)
    try:
        if server.add_insecure_port(address) == 0:
            raise OSError(f"could not bind {address}")
        await server.start()
    except BaseException:
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason: list[str] = []

    def on_signal(name: str) -> None:
        reason.append(name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)

    if exit_on_stdin_close:
        def watch_stdin() -> None:
            # The worker holds our stdin open and never writes; EOF means it is gone.
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            _exit_now(socket_dir, "stdin closed (the worker is gone)")

        threading.Thread(target=watch_stdin, name="tributary-stdin", daemon=True).start()

    sys.stdout.write(f"{HANDSHAKE_PREFIX} {PROTOCOL_VERSION} {address}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr
    log.info("plugin %s serving at %s", plugin.name, address)

    await stop.wait()
    log.info("plugin shutting down (%s)", reason[0] if reason else "stop")
    try:
        await server.stop(grace_s)
    finally:
        _exit_now(socket_dir, reason[0] if reason else "stop")


def serve(plugin: Source | Sink, *, grace_s: float = 2.0) -> None:
    """The child-process main: `if __name__ == "__main__": serve(MySource())`."""
    asyncio.run(serve_async(plugin, grace_s=grace_s))
