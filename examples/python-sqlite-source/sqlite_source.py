#!/usr/bin/env python3
"""sqlite-source: a Tributary source plugin that reads the tables of a SQLite database.

Every table is a stream partition (its id is the table name), discovered at run time: a table
created while the connector runs is picked up within `poll.interval.ms`, a dropped one is
removed. Each table is read in the order of its incrementing column (`rowid` by default, as
Kafka Connect's JDBC source does in `incrementing` mode); the source offset is that column's
value, so a restarted partition resumes after the last committed row. Each row becomes one
record: the value is the row as a JSON object (BLOBs in base64), the key is the table name, so
every row of a table lands in one Kafka partition, in order.

It reads the database read-only and never holds a transaction open between polls, so whatever
writes the database keeps writing.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from tributary_sdk import (
    Cancellation,
    Config,
    ConfigError,
    ConfigKey,
    ConfigType,
    Connector,
    InvalidArgument,
    NotFound,
    PartitionChange,
    Record,
    Source,
    SourceReader,
    StreamPartition,
    Unavailable,
    serve,
)

log = logging.getLogger("sqlite-source")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def connect(path: str) -> sqlite3.Connection:
    """A read-only connection; Unavailable when the file is missing or not a database."""
    if not Path(path).is_file():
        raise Unavailable(f'database "{path}" does not exist (config key "database")')
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=5.0)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        return conn
    except sqlite3.DatabaseError as err:
        raise Unavailable(f'database "{path}" cannot be read: {err} (config key "database")') from err


def list_tables(conn: sqlite3.Connection, include: Sequence[str]) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    names = [r[0] for r in rows]
    return [n for n in names if n in include] if include else names


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def jsonable(value: object) -> object:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


class TableReader(SourceReader):
    """Reads one table after a given incrementing-column value. Plain methods: the SDK runs them
    in a worker thread, so the blocking sqlite3 calls and waits stall no other table."""

    def __init__(self, conn: sqlite3.Connection, table: str, column: str, after: int | None, interval_s: float) -> None:
        self.conn = conn
        self.table = table
        self.after = after
        self.interval_s = interval_s
        self.key = table.encode()
        self.sql = f"SELECT {column} AS __offset, * FROM {quote(table)} WHERE ? IS NULL OR {column} > ? ORDER BY {column} LIMIT ?"

    def poll(self, max_records: int, cancel: Cancellation) -> list[Record]:
        while True:
            try:
                cursor = self.conn.execute(self.sql, (self.after, self.after, max_records))
                columns = [d[0] for d in cursor.description][1:]
                rows = cursor.fetchall()
            except sqlite3.OperationalError as err:
                if "no such table" in str(err):
                    raise NotFound(f'table "{self.table}" no longer exists in the database') from err
                raise Unavailable(f'reading table "{self.table}": {err}') from err
            if rows:
                records = []
                for row in rows:
                    offset = row[0]
                    value = {c: jsonable(v) for c, v in zip(columns, row[1:])}
                    records.append(Record(offset=str(offset).encode(), key=self.key, value=json.dumps(value, separators=(",", ":")).encode()))
                self.after = rows[-1][0]
                return records
            # Nothing new: wait for the next poll unless drain (or the end) comes first.
            if cancel.wait(self.interval_s):
                return []

    def close(self) -> None:
        self.conn.close()


class SqliteSource(Source):
    name = "sqlite-source"
    version = "0.1.0"
    summary = "Reads the tables of a SQLite database; each table is a stream partition, found at run time"
    config_keys = (
        ConfigKey("topic", ConfigType.STRING, required=True, documentation="The Kafka topic the rows are produced to.", group="Records"),
        ConfigKey("database", ConfigType.STRING, required=True, documentation="Path of the SQLite database file (read-only).", group="Database"),
        ConfigKey("tables", ConfigType.LIST, default="", documentation="Tables to read; empty reads every table.", group="Database"),
        ConfigKey(
            "incrementing.column",
            ConfigType.STRING,
            default="rowid",
            documentation="A strictly increasing integer column every table has; rows are read in its order and it is the source offset.",
            group="Database",
        ),
        ConfigKey("poll.interval.ms", ConfigType.DURATION_MS, default="1000", documentation="How often to look for new rows and new tables.", group="Database"),
    )

    def validate(self, config: Config) -> list[ConfigError]:
        problems = []
        if not IDENTIFIER.match(config.string("incrementing.column")):
            problems.append(ConfigError("incrementing.column", f'"{config["incrementing.column"]}" is not a plain column name'))
        if not Path(config.string("database")).is_file():
            problems.append(ConfigError("database", f'"{config["database"]}" does not exist'))
        return problems

    def watch_partitions(self, connector: Connector, cancel: Cancellation) -> Iterator[PartitionChange]:
        config = connector.config
        conn = connect(config.string("database"))
        interval = config.int("poll.interval.ms") / 1000
        try:
            known = list_tables(conn, config.list("tables"))
            yield PartitionChange(added=[StreamPartition(t, {"table": t}) for t in known], snapshot=True)
            while not cancel.wait(interval):
                now = list_tables(conn, config.list("tables"))
                added = [t for t in now if t not in known]
                removed = [t for t in known if t not in now]
                if added or removed:
                    log.info("tables changed: added %s, removed %s", added, removed)
                    yield PartitionChange(added=[StreamPartition(t, {"table": t}) for t in added], removed=removed)
                    known = now
        finally:
            conn.close()

    def open(self, connector: Connector, partition: StreamPartition, offset: bytes | None) -> TableReader:
        config = connector.config
        after: int | None = None
        if offset is not None:
            text = offset.decode("ascii", "replace")
            if not re.fullmatch(r"-?\d+", text):
                raise InvalidArgument(f'table "{partition.id}": offset "{text}" is not an integer value of {config["incrementing.column"]}')
            after = int(text)
        conn = connect(config.string("database"))
        if partition.id not in list_tables(conn, config.list("tables")):
            conn.close()
            raise NotFound(f'table "{partition.id}" is not in database "{config["database"]}"')
        return TableReader(conn, partition.id, config.string("incrementing.column"), after, config.int("poll.interval.ms") / 1000)


if __name__ == "__main__":
    serve(SqliteSource())
