"""Tributary connector SDK for Python.

Write a source by subclassing `Source` (and `SourceReader`), or a sink by subclassing `Sink`
(and `SinkWriter`), then call `serve(plugin)` as the process's main. The SDK keeps the
connector protocol's rules (docs/connector-protocol.md): the child-process handshake, health,
stdin EOF and SIGTERM, credits, drain, ack ordering, `durable` only after flush, and errors as
gRPC statuses. Methods may be plain (run in a worker thread) or `async def`.
"""

from ._config import Config, ConfigError, ConfigKey, ConfigType, apply_defaults, parse_list, validate_config
from ._data import Field, Schema, SchemaType, from_data, to_data
from ._errors import FailedPrecondition, InternalError, InvalidArgument, NotFound, PluginError, Unavailable
from ._model import Cancellation, Connector, PartitionChange, Record, StreamPartition
from ._plugin import Sink, SinkWriter, Source, SourceReader
from ._serve import HANDSHAKE_PREFIX, PROTOCOL_VERSION, ServingHealth, create_server, serve, serve_async
from ._service import PluginService

__all__ = [
    "Cancellation",
    "Config",
    "ConfigError",
    "ConfigKey",
    "ConfigType",
    "Connector",
    "FailedPrecondition",
    "Field",
    "HANDSHAKE_PREFIX",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PROTOCOL_VERSION",
    "PartitionChange",
    "PluginError",
    "PluginService",
    "Record",
    "Schema",
    "SchemaType",
    "ServingHealth",
    "Sink",
    "SinkWriter",
    "Source",
    "SourceReader",
    "StreamPartition",
    "Unavailable",
    "apply_defaults",
    "create_server",
    "from_data",
    "parse_list",
    "serve",
    "serve_async",
    "to_data",
]
