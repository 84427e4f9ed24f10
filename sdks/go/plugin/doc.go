// Package plugin is the Go SDK for Tributary connector plugins.
//
// A plugin author implements Source (WatchPartitions, Open → SourceReader{Poll, Ack, Close}) or
// Sink (Open → SinkWriter{Write, Flush, Close}) and calls Serve from main. The SDK keeps the
// rules of docs/connector-protocol.md, so the author does not have to:
//
//   - the child-process handshake: a unix socket in a fresh temp dir, exactly one stdout line
//     `TRIBUTARY_PLUGIN 1 unix:///…`, grpc.health.v1 SERVING for any service name, exit at once
//     on stdin EOF, exit 0 on SIGTERM/SIGINT after a grace, socket dir removed;
//   - a source never sends more records than its credits, never polls for 0 records, sends
//     records as soon as Poll returns them, and on drain cancels the Poll's context, sends what
//     that Poll returns, then `drained{last_offset, records}`, then nothing; acks reach Ack in
//     order, also after drain;
//   - a sink answers flush with `durable` through the last Kafka offset received, only after
//     Flush returned nil;
//   - errors leave as gRPC statuses: return a status error (status.Error(codes.NotFound, …)) to
//     choose the code; any other error becomes INTERNAL with its message.
//
// Contexts carry cancellation: the context given to Poll is cancelled on drain and when the
// stream goes away; the one given to WatchPartitions when the worker stops watching.
package plugin
