package plugin

import (
	"context"

	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

// Info is what Describe reports.
type Info struct {
	// Name is how connectors refer to the plugin (`connector.class`).
	Name    string
	Version string
	// Summary is one line for `tributary plugins list`.
	Summary    string
	ConfigKeys []*pb.ConfigKey
}

// Connector is the connector a call is about; Config has the spec's defaults applied.
type Connector struct {
	Name   string
	Config Config
}

// Plugin is what every plugin implements; a plugin is a Source or a Sink.
type Plugin interface {
	Info() Info
}

// Validator is implemented by plugins with checks beyond the config spec. Validate runs only
// when the spec checks passed; it must have no side effects.
type Validator interface {
	Validate(ctx context.Context, config Config) ([]*pb.ConfigError, error)
}

// Hooks is implemented by plugins that act when a connector is created, updated or deleted
// (once per connector, on the leader). Each hook must be idempotent.
type Hooks interface {
	OnCreated(ctx context.Context, c Connector) error
	OnUpdated(ctx context.Context, c Connector, previous Config) error
	OnDeleted(ctx context.Context, c Connector) error
}

// Source reads an external system.
type Source interface {
	Plugin
	// WatchPartitions sends the connector's stream partitions: first a snapshot (the SDK marks
	// the first message `snapshot`), then one message per change, until ctx is done. Returning
	// nil early keeps the stream open until the worker ends it. See StaticPartitions.
	WatchPartitions(ctx context.Context, c Connector, send func(*pb.WatchPartitionsResponse) error) error
	// Open opens partition p to read the records AFTER offset (nil: from the beginning).
	Open(ctx context.Context, c Connector, p *pb.StreamPartition, offset []byte) (SourceReader, error)
}

// SourceReader reads one stream partition.
type SourceReader interface {
	// Poll returns the next records, at most max (max ≥ 1), in offset order, each with its
	// Offset set. Return as soon as there are records (never wait to fill max); block while
	// there are none. When ctx is cancelled (drain, or the stream went away) return promptly
	// with the records already taken from upstream (possibly none) and a nil error: on drain the
	// SDK still sends them. An error after cancellation counts as returning none.
	Poll(ctx context.Context, max int) ([]*pb.Record, error)
	// Ack says every record up to and including offset is stored in Kafka; records counts all
	// records acknowledged on this stream. Called in order, one at a time, possibly while a Poll
	// runs, and also after drain.
	Ack(ctx context.Context, offset []byte, records uint64) error
	// Close releases resources. Called exactly once, after the last Poll and Ack returned.
	Close() error
}

// Sink writes records the worker fetched from Kafka.
type Sink interface {
	Plugin
	// Open opens partition p (p.Topic, p.KafkaPartition); committed is the Kafka offset of the
	// last committed record, nil if none.
	Open(ctx context.Context, c Connector, p *pb.StreamPartition, committed *int64) (SinkWriter, error)
}

// SinkWriter writes one stream partition (a Kafka topic-partition).
type SinkWriter interface {
	// Write takes records in Kafka offset order (each with KafkaOffset); they need not be
	// durable yet.
	Write(ctx context.Context, records []*pb.Record) error
	// Flush makes every record written so far durable (commit, fsync). The SDK reports
	// `durable` only after it returned nil.
	Flush(ctx context.Context) error
	// Close releases resources. Called exactly once.
	Close() error
}

// OffsetHolder is implemented by a SinkWriter that stores Kafka offsets with its data (an
// exactly-once sink doing idempotent writes): ResumeAfter names the Kafka offset of the last
// record it holds, and the worker resumes after it instead of its own committed offset.
type OffsetHolder interface {
	ResumeAfter() (offset int64, ok bool)
}

// StaticPartitions is a WatchPartitions body for a fixed set of partitions: one snapshot, then
// nothing until ctx is done.
func StaticPartitions(ctx context.Context, send func(*pb.WatchPartitionsResponse) error, ids ...string) error {
	added := make([]*pb.StreamPartition, len(ids))
	for i, id := range ids {
		added[i] = &pb.StreamPartition{Id: id}
	}
	if err := send(&pb.WatchPartitionsResponse{Snapshot: true, Added: added}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
