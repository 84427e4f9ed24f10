from __future__ import annotations

import pytest

from tributary_sdk import (
    ConfigKey,
    ConfigType,
    Field,
    InvalidArgument,
    Record,
    Schema,
    SchemaType,
    apply_defaults,
    from_data,
    to_data,
    validate_config,
)

KEYS = [
    ConfigKey("topic", ConfigType.STRING, required=True),
    ConfigKey("n", ConfigType.INT, default="1"),
    ConfigKey("ratio", ConfigType.DOUBLE),
    ConfigKey("on", ConfigType.BOOLEAN),
    ConfigKey("wait", ConfigType.DURATION_MS),
    ConfigKey("mode", ConfigType.STRING, allowed_values=("a", "b")),
    ConfigKey("modes", ConfigType.LIST, allowed_values=("a", "b")),
]


def test_the_spec_checks_name_each_offending_key_as_the_worker_does() -> None:
    problems = validate_config(KEYS, {"n": "x", "ratio": "1e", "on": "yes", "wait": "-5", "mode": "c", "modes": "a, c ,"})
    assert {p.key: p.message for p in problems} == {
        "topic": "is required",
        "n": 'must be an integer, got "x"',
        "ratio": 'must be a number, got "1e"',
        "on": 'must be "true" or "false", got "yes"',
        "wait": 'must be a duration in milliseconds (a non-negative integer), got "-5"',
        "mode": '"c" is not one of "a", "b"',
        "modes": '"c" is not one of "a", "b"',
    }
    assert validate_config(KEYS, {"topic": "t", "n": "+7", "ratio": ".5", "on": "TRUE", "wait": "0", "modes": ""}) == []
    assert validate_config(KEYS, {"topic": " "})[0].message == "is required and must not be empty"
    assert validate_config(KEYS, {"topic": "t", "n": str(2**53)})[0].message == f'is out of range: "{2**53}"'


def test_defaults_fill_only_absent_keys() -> None:
    assert apply_defaults(KEYS, {"topic": "t"}) == {"topic": "t", "n": "1"}
    assert apply_defaults(KEYS, {"n": "5"})["n"] == "5"


ROW = Schema.struct(
    "row",
    [
        Field("id", Schema.of(SchemaType.INT64)),
        Field("name", Schema.of(SchemaType.STRING, optional=True)),
        Field("tags", Schema.array(Schema.of(SchemaType.STRING))),
        Field("scores", Schema.map(Schema.of(SchemaType.STRING), Schema.of(SchemaType.FLOAT64))),
        Field("raw", Schema.of(SchemaType.BYTES, optional=True)),
        Field("ok", Schema.of(SchemaType.BOOLEAN)),
    ],
)


def test_a_struct_with_its_schema_round_trips_through_the_wire_form() -> None:
    value = {"id": 7, "name": None, "tags": ["x", "y"], "scores": {"m": 1.5}, "raw": b"\x00\x01", "ok": True}
    record = Record(offset=b"7", structured_value=value, value_schema=ROW, key=b"k")
    wire = record.to_proto()
    assert wire.HasField("structured_value") and not wire.HasField("value")
    assert [f.name for f in wire.value_schema.fields] == ["id", "name", "tags", "scores", "raw", "ok"]
    assert wire.structured_value.struct.fields[1].null
    back = Record.from_proto(wire)
    assert back.structured_value == value
    assert back.value_schema == ROW
    assert back.key == b"k" and back.value is None and not back.has_structured_key


def test_schemaless_values_travel_as_maps_and_arrays() -> None:
    value = {"a": [1, 2.5, "s", None, False], "b": {"c": b"x"}}
    data = to_data(value)
    assert data.WhichOneof("kind") == "map"
    assert from_data(data) == value


def test_values_that_do_not_fit_their_schema_name_the_path() -> None:
    with pytest.raises(InvalidArgument, match=r"value.id: INT64 needs an int, got str"):
        Record(offset=b"1", structured_value={"id": "x", "tags": [], "scores": {}, "ok": True}, value_schema=ROW).to_proto()
    with pytest.raises(InvalidArgument, match=r"tags\[1\]: STRING needs a str"):
        to_data({"id": 1, "tags": ["a", 2], "scores": {}, "ok": True}, ROW)
    with pytest.raises(InvalidArgument, match="out of range for INT8"):
        to_data(200, Schema.of(SchemaType.INT8))
    with pytest.raises(InvalidArgument, match="is null but its schema is not optional"):
        to_data({"id": None, "tags": [], "scores": {}, "ok": True}, ROW)
    with pytest.raises(InvalidArgument, match="not in the schema"):
        to_data({"id": 1, "tags": [], "scores": {}, "ok": True, "extra": 1}, ROW)
    with pytest.raises(InvalidArgument, match="both value bytes and structured_value"):
        Record(offset=b"1", value=b"v", structured_value=1).to_proto()
