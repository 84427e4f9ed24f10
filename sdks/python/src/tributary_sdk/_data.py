"""Structured keys and values in Kafka Connect's data model (`Data` and `Schema` in connector.proto).

A source may send a record's key/value either as bytes or as a structured Python value with an
optional schema; the worker's converter turns structured data into Kafka bytes. In Python the
structured form is plain values:

| schema type                    | Python value                         |
|--------------------------------|--------------------------------------|
| INT8, INT16, INT32, INT64      | `int`                                |
| FLOAT32, FLOAT64               | `float`                              |
| BOOLEAN                        | `bool`                               |
| STRING                         | `str`                                |
| BYTES (and Decimal)            | `bytes`                              |
| ARRAY                          | `list`                               |
| MAP                            | `dict` (keys may be any of the above that hash) |
| STRUCT                         | `dict` of field name to value        |
| (optional, absent)             | `None`                               |

Without a schema (schemaless, like Kafka Connect's schemaless maps) a `dict` travels as a MAP.
A STRUCT needs its schema: its fields are sent positionally in the schema's order.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from ._errors import InvalidArgument
from ._gen.tributary.connector.v1 import connector_pb2 as pb


class SchemaType(enum.IntEnum):
    INT8 = pb.SCHEMA_TYPE_INT8
    INT16 = pb.SCHEMA_TYPE_INT16
    INT32 = pb.SCHEMA_TYPE_INT32
    INT64 = pb.SCHEMA_TYPE_INT64
    FLOAT32 = pb.SCHEMA_TYPE_FLOAT32
    FLOAT64 = pb.SCHEMA_TYPE_FLOAT64
    BOOLEAN = pb.SCHEMA_TYPE_BOOLEAN
    STRING = pb.SCHEMA_TYPE_STRING
    BYTES = pb.SCHEMA_TYPE_BYTES
    ARRAY = pb.SCHEMA_TYPE_ARRAY
    MAP = pb.SCHEMA_TYPE_MAP
    STRUCT = pb.SCHEMA_TYPE_STRUCT


_INTS = {SchemaType.INT8: 8, SchemaType.INT16: 16, SchemaType.INT32: 32, SchemaType.INT64: 64}


@dataclass(frozen=True)
class Field:
    """One field of a STRUCT schema."""

    name: str
    schema: Schema


@dataclass(frozen=True)
class Schema:
    """A key's or value's schema, shaped like Kafka Connect's."""

    type: SchemaType
    optional: bool = False
    name: str | None = None
    version: int | None = None
    doc: str | None = None
    fields: Sequence[Field] = field(default_factory=tuple)
    value_schema: Schema | None = None
    key_schema: Schema | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)

    # Convenience constructors for the common cases.
    @staticmethod
    def of(type_: SchemaType, *, optional: bool = False, name: str | None = None) -> Schema:
        return Schema(type_, optional=optional, name=name)

    @staticmethod
    def struct(name: str | None, fields: Sequence[Field], *, optional: bool = False) -> Schema:
        return Schema(SchemaType.STRUCT, optional=optional, name=name, fields=tuple(fields))

    @staticmethod
    def array(items: Schema, *, optional: bool = False) -> Schema:
        return Schema(SchemaType.ARRAY, optional=optional, value_schema=items)

    @staticmethod
    def map(keys: Schema, values: Schema, *, optional: bool = False) -> Schema:
        return Schema(SchemaType.MAP, optional=optional, key_schema=keys, value_schema=values)

    def to_proto(self) -> pb.Schema:
        out = pb.Schema(type=int(self.type), optional=self.optional, parameters=dict(self.parameters))  # type: ignore[arg-type]
        if self.name is not None:
            out.name = self.name
        if self.version is not None:
            out.version = self.version
        if self.doc is not None:
            out.doc = self.doc
        for f in self.fields:
            out.fields.append(pb.Field(name=f.name, schema=f.schema.to_proto()))
        if self.value_schema is not None:
            out.value_schema.CopyFrom(self.value_schema.to_proto())
        if self.key_schema is not None:
            out.key_schema.CopyFrom(self.key_schema.to_proto())
        return out

    @staticmethod
    def from_proto(msg: pb.Schema) -> Schema:
        return Schema(
            type=SchemaType(msg.type),
            optional=msg.optional,
            name=msg.name if msg.HasField("name") else None,
            version=msg.version if msg.HasField("version") else None,
            doc=msg.doc if msg.HasField("doc") else None,
            fields=tuple(Field(f.name, Schema.from_proto(f.schema)) for f in msg.fields),
            value_schema=Schema.from_proto(msg.value_schema) if msg.HasField("value_schema") else None,
            key_schema=Schema.from_proto(msg.key_schema) if msg.HasField("key_schema") else None,
            parameters=dict(msg.parameters),
        )


Value = Union[None, bool, int, float, str, bytes, Sequence[Any], Mapping[Any, Any]]


def _fail(path: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"structured value at {path or '<root>'}: {message}")


def to_data(value: Any, schema: Schema | None = None, path: str = "") -> pb.Data:
    """Converts a Python value (see the module docs) to `Data`, checked against `schema` if given.

    Raises InvalidArgument naming the path of the offending element.
    """
    if value is None:
        if schema is not None and not schema.optional:
            raise _fail(path, "is null but its schema is not optional")
        return pb.Data(null=True)
    if schema is None:
        return _schemaless(value, path)
    t = schema.type
    if t in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"{t.name} needs an int, got {type(value).__name__}")
        bits = _INTS[t]
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise _fail(path, f"{value} is out of range for {t.name}")
        return pb.Data(int=value)
    if t in (SchemaType.FLOAT32, SchemaType.FLOAT64):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, f"{t.name} needs a float, got {type(value).__name__}")
        return pb.Data(float=float(value))
    if t is SchemaType.BOOLEAN:
        if not isinstance(value, bool):
            raise _fail(path, f"BOOLEAN needs a bool, got {type(value).__name__}")
        return pb.Data(boolean=value)
    if t is SchemaType.STRING:
        if not isinstance(value, str):
            raise _fail(path, f"STRING needs a str, got {type(value).__name__}")
        return pb.Data(string=value)
    if t is SchemaType.BYTES:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _fail(path, f"BYTES needs bytes, got {type(value).__name__}")
        return pb.Data(bytes=bytes(value))
    if t is SchemaType.ARRAY:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise _fail(path, f"ARRAY needs a list, got {type(value).__name__}")
        return pb.Data(array=pb.DataArray(items=[to_data(v, schema.value_schema, f"{path}[{i}]") for i, v in enumerate(value)]))
    if t is SchemaType.MAP:
        if not isinstance(value, Mapping):
            raise _fail(path, f"MAP needs a dict, got {type(value).__name__}")
        entries = [
            pb.DataMapEntry(key=to_data(k, schema.key_schema, f"{path}.<key>"), value=to_data(v, schema.value_schema, f"{path}[{k!r}]"))
            for k, v in value.items()
        ]
        return pb.Data(map=pb.DataMap(entries=entries))
    if t is SchemaType.STRUCT:
        if not isinstance(value, Mapping):
            raise _fail(path, f"STRUCT needs a dict of field values, got {type(value).__name__}")
        unknown = set(value) - {f.name for f in schema.fields}
        if unknown:
            raise _fail(path, f"fields {sorted(unknown)} are not in the schema")
        fields = [to_data(value.get(f.name), f.schema, f"{path}.{f.name}" if path else f.name) for f in schema.fields]
        return pb.Data(struct=pb.DataStruct(fields=fields))
    raise _fail(path, f"unsupported schema type {t!r}")


def _schemaless(value: Any, path: str) -> pb.Data:
    if isinstance(value, bool):
        return pb.Data(boolean=value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise _fail(path, f"{value} does not fit in 64 bits")
        return pb.Data(int=value)
    if isinstance(value, float):
        return pb.Data(float=value)
    if isinstance(value, str):
        return pb.Data(string=value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return pb.Data(bytes=bytes(value))
    if isinstance(value, Mapping):
        return pb.Data(map=pb.DataMap(entries=[pb.DataMapEntry(key=_schemaless(k, f"{path}.<key>"), value=to_data(v, None, f"{path}[{k!r}]")) for k, v in value.items()]))
    if isinstance(value, Sequence):
        return pb.Data(array=pb.DataArray(items=[to_data(v, None, f"{path}[{i}]") for i, v in enumerate(value)]))
    raise _fail(path, f"{type(value).__name__} has no structured form")


def from_data(data: pb.Data, schema: Schema | None = None) -> Any:
    """Converts `Data` back to Python values. A STRUCT becomes a dict by field name when its
    schema is known, else a list of field values; a MAP whose keys do not hash becomes a list of
    (key, value) pairs."""
    kind = data.WhichOneof("kind")
    if kind is None or kind == "null":
        return None
    if kind == "int":
        return data.int
    if kind == "float":
        return data.float
    if kind == "boolean":
        return data.boolean
    if kind == "string":
        return data.string
    if kind == "bytes":
        return bytes(data.bytes)
    if kind == "array":
        items = schema.value_schema if schema else None
        return [from_data(d, items) for d in data.array.items]
    if kind == "map":
        ks = schema.key_schema if schema else None
        vs = schema.value_schema if schema else None
        pairs = [(from_data(e.key, ks), from_data(e.value, vs)) for e in data.map.entries]
        try:
            return dict(pairs)
        except TypeError:
            return pairs
    if kind == "struct":
        values = list(data.struct.fields)
        if schema is not None and schema.type is SchemaType.STRUCT:
            return {f.name: from_data(v, f.schema) for f, v in zip(schema.fields, values)}
        return [from_data(v) for v in values]
    raise InvalidArgument(f"structured value: unknown kind {kind!r}")
