// sqlite-sink: a Tributary sink plugin that writes records into a SQLite database.
//
// Every record becomes one row of the table `table` (default `records`): its topic, Kafka
// partition and Kafka offset (together the primary key), key, value, timestamp and headers (as
// JSON), plus `value_json` when the connector's converter handed the sink a structured value.
// Writes are buffered per partition and committed in one transaction on flush; the sink reports
// `durable` only after that COMMIT returned (SQLite in WAL mode with synchronous=FULL, so a
// committed transaction survives a power cut).
//
// Because every row carries its Kafka offset and rows are upserted by (topic, partition,
// offset), the sink holds its own offsets: on open it reports the highest offset it has for the
// partition as `resume_after_offset`, and the worker resumes after it. A record delivered twice
// (after a worker is killed) overwrites itself, so the table ends up with each record once.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"

	_ "modernc.org/sqlite"

	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
	"tributary.dev/sdks/go/plugin"
)

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type sink struct {
	mu  sync.Mutex
	dbs map[string]*sql.DB // one pool per database file, shared by the partitions of this process
}

func (s *sink) Info() plugin.Info {
	return plugin.Info{
		Name:    "sqlite-sink",
		Version: "0.1.0",
		Summary: "Writes records into a SQLite table, durable on COMMIT, exactly once by Kafka offset",
		ConfigKeys: []*pb.ConfigKey{
			plugin.Required(plugin.Key("database", pb.ConfigType_CONFIG_TYPE_STRING, "Path of the SQLite database file (created if missing).")),
			plugin.Default(plugin.Key("table", pb.ConfigType_CONFIG_TYPE_STRING, "Table the records are written to (created if missing)."), "records"),
		},
	}
}

func (s *sink) Validate(ctx context.Context, config plugin.Config) ([]*pb.ConfigError, error) {
	if t := config.String("table", "records"); !identifier.MatchString(t) {
		return []*pb.ConfigError{{Key: "table", Message: fmt.Sprintf("%q is not a plain table name (letters, digits, _)", t)}}, nil
	}
	return nil, nil
}

func (s *sink) db(path string) (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db, ok := s.dbs[path]; ok {
		return db, nil
	}
	// busy_timeout: other workers' sink processes write the same file; wait for their COMMITs.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(30000)")
	if err != nil {
		return nil, plugin.Unavailable("opening database %q: %v", path, err)
	}
	s.dbs[path] = db
	return db, nil
}

func (s *sink) Open(ctx context.Context, c plugin.Connector, p *pb.StreamPartition, committed *int64) (plugin.SinkWriter, error) {
	table := c.Config.String("table", "records")
	if !identifier.MatchString(table) {
		return nil, plugin.InvalidArgument("config key \"table\": %q is not a plain table name", table)
	}
	if p.Topic == nil || p.KafkaPartition == nil {
		return nil, plugin.InvalidArgument("stream partition %q names no Kafka topic and partition", p.GetId())
	}
	db, err := s.db(c.Config.String("database", ""))
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
		topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, kafka_offset INTEGER NOT NULL,
		key BLOB, value BLOB, value_json TEXT, timestamp_ms INTEGER, headers TEXT,
		PRIMARY KEY (topic, kafka_partition, kafka_offset))`, table)); err != nil {
		return nil, plugin.Unavailable("creating table %q: %v", table, err)
	}
	w := &writer{db: db, table: table, topic: p.GetTopic(), partition: p.GetKafkaPartition()}
	var held sql.NullInt64
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT MAX(kafka_offset) FROM %s WHERE topic = ? AND kafka_partition = ?`, table), w.topic, w.partition).Scan(&held); err != nil {
		return nil, plugin.Unavailable("reading the offsets table %q holds: %v", table, err)
	}
	w.held = held
	slog.Info("partition opened", "topic", w.topic, "partition", w.partition, "held", held.Int64, "hasRows", held.Valid, "committed", committed)
	return w, nil
}

type writer struct {
	db        *sql.DB
	table     string
	topic     string
	partition int32
	held      sql.NullInt64
	pending   []*pb.Record
}

// ResumeAfter reports the highest Kafka offset already in the table for this partition.
func (w *writer) ResumeAfter() (int64, bool) { return w.held.Int64, w.held.Valid }

// Write buffers: rows reach the database in one transaction per flush.
func (w *writer) Write(ctx context.Context, records []*pb.Record) error {
	w.pending = append(w.pending, records...)
	return nil
}

// Flush commits everything written since the last flush; durable once COMMIT returned.
func (w *writer) Flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return plugin.Unavailable("starting a transaction: %v", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf(`INSERT OR REPLACE INTO %s
		(topic, kafka_partition, kafka_offset, key, value, value_json, timestamp_ms, headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.table))
	if err != nil {
		return plugin.Unavailable("preparing the insert: %v", err)
	}
	defer stmt.Close()
	for _, r := range w.pending {
		var valueJSON, headers any
		if r.StructuredValue != nil {
			b, err := json.Marshal(jsonable(plugin.FromData(r.StructuredValue, r.ValueSchema)))
			if err != nil {
				return fmt.Errorf("record at offset %d: encoding its structured value: %w", r.GetKafkaOffset(), err)
			}
			valueJSON = string(b)
		}
		if len(r.Headers) > 0 {
			hs := make([][2]any, len(r.Headers))
			for i, h := range r.Headers {
				hs[i] = [2]any{h.GetKey(), nullableString(h.Value)}
			}
			b, _ := json.Marshal(hs)
			headers = string(b)
		}
		var ts any
		if r.TimestampMs != nil {
			ts = r.GetTimestampMs()
		}
		if _, err := stmt.ExecContext(ctx, w.topic, w.partition, r.GetKafkaOffset(), nullableBytes(r.Key), nullableBytes(r.Value), valueJSON, ts, headers); err != nil {
			return plugin.Unavailable("inserting the record at offset %d: %v", r.GetKafkaOffset(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return plugin.Unavailable("committing %d records: %v", len(w.pending), err)
	}
	w.held = sql.NullInt64{Int64: w.pending[len(w.pending)-1].GetKafkaOffset(), Valid: true}
	w.pending = w.pending[:0]
	return nil
}

// Close drops what was not flushed: the worker has not committed it and will send it again.
func (w *writer) Close() error {
	w.pending = nil
	return nil
}

func nullableBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func nullableString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// jsonable turns FromData's ordered maps into JSON objects (string keys) or pair lists.
func jsonable(v any) any {
	switch x := v.(type) {
	case []plugin.MapEntry:
		obj := map[string]any{}
		for _, e := range x {
			k, ok := e.Key.(string)
			if !ok {
				pairs := make([][2]any, len(x))
				for i, e := range x {
					pairs[i] = [2]any{jsonable(e.Key), jsonable(e.Value)}
				}
				return pairs
			}
			obj[k] = jsonable(e.Value)
		}
		return obj
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := plugin.Serve(&sink{dbs: map[string]*sql.DB{}}); err != nil {
		slog.Error("sqlite-sink could not start", "err", err)
		os.Exit(1)
	}
}
