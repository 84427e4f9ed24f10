package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

// NewService returns the ConnectorPluginService for p, a Source or a Sink. Serve uses it; use it
// directly to serve a plugin behind your own gRPC server (e.g. as a remote endpoint).
func NewService(p Plugin) (pb.ConnectorPluginServiceServer, error) {
	info := p.Info()
	if info.Name == "" {
		return nil, errors.New("plugin: Info().Name must be set")
	}
	s := &service{plugin: p, info: info}
	switch v := p.(type) {
	case Source:
		s.source, s.kind = v, pb.ConnectorKind_CONNECTOR_KIND_SOURCE
	case Sink:
		s.sink, s.kind = v, pb.ConnectorKind_CONNECTOR_KIND_SINK
	default:
		return nil, fmt.Errorf("plugin %q is neither a Source nor a Sink", info.Name)
	}
	return s, nil
}

type service struct {
	pb.UnimplementedConnectorPluginServiceServer
	plugin Plugin
	info   Info
	kind   pb.ConnectorKind
	source Source
	sink   Sink
}

// asStatus keeps status errors and turns anything else into INTERNAL with its message.
func asStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	slog.Error("call failed", "err", err)
	return status.Error(codes.Internal, err.Error())
}

func (s *service) connector(c *pb.Connector) Connector {
	return Connector{Name: c.GetName(), Config: ApplyDefaults(s.info.ConfigKeys, c.GetConfig())}
}

func (s *service) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Name: s.info.Name, Version: s.info.Version, Kind: s.kind, Summary: s.info.Summary, ConfigKeys: s.info.ConfigKeys}, nil
}

func (s *service) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	raw := req.GetConnector().GetConfig()
	problems := ValidateConfig(s.info.ConfigKeys, raw)
	if v, ok := s.plugin.(Validator); ok && len(problems) == 0 {
		more, err := v.Validate(ctx, ApplyDefaults(s.info.ConfigKeys, raw))
		if err != nil {
			return nil, asStatus(err)
		}
		problems = more
	}
	return &pb.ValidateResponse{Errors: problems}, nil
}

func (s *service) ConnectorCreated(ctx context.Context, req *pb.ConnectorCreatedRequest) (*pb.ConnectorCreatedResponse, error) {
	if h, ok := s.plugin.(Hooks); ok {
		if err := h.OnCreated(ctx, s.connector(req.GetConnector())); err != nil {
			return nil, asStatus(err)
		}
	}
	return &pb.ConnectorCreatedResponse{}, nil
}

func (s *service) ConnectorUpdated(ctx context.Context, req *pb.ConnectorUpdatedRequest) (*pb.ConnectorUpdatedResponse, error) {
	if h, ok := s.plugin.(Hooks); ok {
		if err := h.OnUpdated(ctx, s.connector(req.GetConnector()), Config(req.GetPreviousConfig())); err != nil {
			return nil, asStatus(err)
		}
	}
	return &pb.ConnectorUpdatedResponse{}, nil
}

func (s *service) ConnectorDeleted(ctx context.Context, req *pb.ConnectorDeletedRequest) (*pb.ConnectorDeletedResponse, error) {
	if h, ok := s.plugin.(Hooks); ok {
		if err := h.OnDeleted(ctx, s.connector(req.GetConnector())); err != nil {
			return nil, asStatus(err)
		}
	}
	return &pb.ConnectorDeletedResponse{}, nil
}

func (s *service) WatchPartitions(req *pb.WatchPartitionsRequest, stream pb.ConnectorPluginService_WatchPartitionsServer) error {
	if s.source == nil {
		return status.Errorf(codes.FailedPrecondition, "plugin %q is a sink: its partitions are the Kafka topic-partitions it reads", s.info.Name)
	}
	ctx := stream.Context()
	first := true
	send := func(m *pb.WatchPartitionsResponse) error {
		if first {
			m.Snapshot = true
			first = false
		}
		return stream.Send(m)
	}
	if err := s.source.WatchPartitions(ctx, s.connector(req.GetConnector()), send); err != nil && ctx.Err() == nil {
		return asStatus(err)
	}
	// Keep the stream open until the worker ends it, even when nothing changes.
	<-ctx.Done()
	return nil
}

// readState is what the request goroutine and the poll loop of one Read stream share.
type readState struct {
	mu         sync.Mutex
	credits    uint64
	draining   bool
	ended      bool
	failure    error
	cancelPoll context.CancelFunc
	changed    chan struct{} // one pending wake-up at most
}

func (st *readState) wake() {
	select {
	case st.changed <- struct{}{}:
	default:
	}
}

func (s *service) Read(stream pb.ConnectorPluginService_ReadServer) error {
	if s.source == nil {
		return status.Errorf(codes.FailedPrecondition, "plugin %q is a sink: it does not implement Read", s.info.Name)
	}
	first, err := stream.Recv()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	open := first.GetOpen()
	if open == nil {
		return status.Errorf(codes.InvalidArgument, `Read: the first message must be "open", got %q`, kindName(first.GetKind()))
	}
	if open.GetPartition().GetId() == "" {
		return status.Error(codes.InvalidArgument, `Read: "open" names no stream partition (field "partition")`)
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	reader, err := s.source.Open(ctx, s.connector(open.GetConnector()), open.GetPartition(), open.Offset)
	if err != nil {
		return asStatus(err)
	}

	st := &readState{changed: make(chan struct{}, 1)}
	end := func(failure error) {
		st.mu.Lock()
		if !st.ended {
			st.ended = true
			st.failure = failure
		}
		if st.cancelPoll != nil {
			st.cancelPoll()
		}
		st.mu.Unlock()
		st.wake()
	}
	requestsDone := make(chan struct{})
	// Requests are handled as they come, while a Poll may be in progress.
	go func() {
		defer close(requestsDone)
		for {
			req, err := stream.Recv()
			if err == io.EOF {
				end(nil)
				return
			} else if err != nil {
				end(err)
				return
			}
			switch k := req.GetKind().(type) {
			case *pb.ReadRequest_Credit:
				st.mu.Lock()
				st.credits += uint64(k.Credit.GetRecords())
				st.mu.Unlock()
				st.wake()
			case *pb.ReadRequest_Ack:
				if err := reader.Ack(ctx, k.Ack.GetOffset(), k.Ack.GetRecords()); err != nil {
					end(asStatus(err))
					return
				}
			case *pb.ReadRequest_Drain:
				st.mu.Lock()
				st.draining = true
				if st.cancelPoll != nil {
					st.cancelPoll()
				}
				st.mu.Unlock()
				st.wake()
			case *pb.ReadRequest_Open:
				end(status.Error(codes.InvalidArgument, `Read: "open" sent twice on one stream`))
				return
			default:
				// Unknown kinds come from a newer worker: ignore them.
			}
		}
	}()

	result := s.pollLoop(ctx, stream, reader, st)
	cancel()
	st.mu.Lock()
	requestsEnded := st.ended
	st.mu.Unlock()
	if !requestsEnded {
		// The stream fails while requests still flow: Recv returns once this handler returned.
		// Close only after the last Ack came back.
		go func() {
			<-requestsDone
			if err := reader.Close(); err != nil {
				slog.Warn("closing a reader after an error failed", "err", err)
			}
		}()
		return result
	}
	<-requestsDone
	closeErr := reader.Close()
	if result != nil {
		return result
	}
	return asStatus(closeErr)
}

func (s *service) pollLoop(ctx context.Context, stream pb.ConnectorPluginService_ReadServer, reader SourceReader, st *readState) error {
	var sent uint64
	var lastOffset []byte
	for {
		st.mu.Lock()
		draining, ended, credits := st.draining, st.ended, st.credits
		if draining || ended {
			st.mu.Unlock()
			break
		}
		if credits == 0 {
			st.mu.Unlock()
			<-st.changed
			continue
		}
		max := int(min(credits, math.MaxInt32))
		pollCtx, cancelPoll := context.WithCancel(ctx)
		st.cancelPoll = cancelPoll
		st.mu.Unlock()

		records, err := reader.Poll(pollCtx, max)
		cancelled := pollCtx.Err() != nil
		st.mu.Lock()
		st.cancelPoll = nil
		draining, ended = st.draining, st.ended
		st.mu.Unlock()
		cancelPoll()
		if err != nil {
			if !cancelled {
				return asStatus(err)
			}
			records = nil // an error after cancellation counts as returning none
		}
		if len(records) > max {
			return status.Errorf(codes.Internal, "plugin %q: Poll(max=%d) returned %d records; a SourceReader must return at most max records", s.info.Name, max, len(records))
		}
		if ended && !draining {
			break
		}
		if len(records) > 0 {
			st.mu.Lock()
			st.credits -= uint64(len(records))
			st.mu.Unlock()
			sent += uint64(len(records))
			lastOffset = records[len(records)-1].GetOffset()
			if lastOffset == nil {
				lastOffset = []byte{}
			}
			if err := stream.Send(&pb.ReadResponse{Kind: &pb.ReadResponse_Batch{Batch: &pb.RecordBatch{Records: records}}}); err != nil {
				return err
			}
		}
	}
	st.mu.Lock()
	draining, failure := st.draining, st.failure
	st.mu.Unlock()
	if failure != nil {
		return failure
	}
	if !draining {
		return nil // the request stream ended without drain
	}
	if err := stream.Send(&pb.ReadResponse{Kind: &pb.ReadResponse_Drained{Drained: &pb.ReadDrained{LastOffset: lastOffset, Records: sent}}}); err != nil {
		return err
	}
	// Nothing more is sent; final acks still arrive until the worker ends the stream.
	for {
		st.mu.Lock()
		ended, failure := st.ended, st.failure
		st.mu.Unlock()
		if ended {
			return failure
		}
		<-st.changed
	}
}

func (s *service) Write(stream pb.ConnectorPluginService_WriteServer) error {
	if s.sink == nil {
		return status.Errorf(codes.FailedPrecondition, "plugin %q is a source: it does not implement Write", s.info.Name)
	}
	first, err := stream.Recv()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	open := first.GetOpen()
	if open == nil {
		return status.Errorf(codes.InvalidArgument, `Write: the first message must be "open", got %q`, kindName(first.GetKind()))
	}
	if open.GetPartition().GetId() == "" {
		return status.Error(codes.InvalidArgument, `Write: "open" names no stream partition (field "partition")`)
	}
	ctx := stream.Context()
	writer, err := s.sink.Open(ctx, s.connector(open.GetConnector()), open.GetPartition(), open.CommittedOffset)
	if err != nil {
		return asStatus(err)
	}
	result := s.writeLoop(ctx, stream, writer)
	closeErr := writer.Close()
	if result != nil {
		return result
	}
	return asStatus(closeErr)
}

func (s *service) writeLoop(ctx context.Context, stream pb.ConnectorPluginService_WriteServer, writer SinkWriter) error {
	var resume *int64
	if h, ok := writer.(OffsetHolder); ok {
		if o, held := h.ResumeAfter(); held {
			resume = &o
		}
	}
	if err := stream.Send(&pb.WriteResponse{Kind: &pb.WriteResponse_Opened{Opened: &pb.WriteOpened{ResumeAfterOffset: resume}}}); err != nil {
		return err
	}
	var lastReceived *int64
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch k := req.GetKind().(type) {
		case *pb.WriteRequest_Batch:
			records := k.Batch.GetRecords()
			if len(records) == 0 {
				continue
			}
			for i, r := range records {
				if r.KafkaOffset == nil {
					return status.Errorf(codes.InvalidArgument, "Write: record %d of the batch has no kafka_offset", i)
				}
			}
			if err := writer.Write(ctx, records); err != nil {
				return asStatus(err)
			}
			last := records[len(records)-1].GetKafkaOffset()
			lastReceived = &last
		case *pb.WriteRequest_Flush:
			through := lastReceived
			if err := writer.Flush(ctx); err != nil {
				return asStatus(err)
			}
			if through == nil {
				through = resume
			}
			if through != nil {
				if err := stream.Send(&pb.WriteResponse{Kind: &pb.WriteResponse_Durable{Durable: &pb.WriteDurable{ThroughOffset: *through}}}); err != nil {
					return err
				}
			}
		case *pb.WriteRequest_Open:
			return status.Error(codes.InvalidArgument, `Write: "open" sent twice on one stream`)
		default:
			// Unknown kinds come from a newer worker: ignore them.
		}
	}
}

func kindName(kind any) string {
	switch kind.(type) {
	case nil:
		return "empty"
	case *pb.ReadRequest_Credit:
		return "credit"
	case *pb.ReadRequest_Ack:
		return "ack"
	case *pb.ReadRequest_Drain:
		return "drain"
	case *pb.WriteRequest_Batch:
		return "batch"
	case *pb.WriteRequest_Flush:
		return "flush"
	default:
		return fmt.Sprintf("%T", kind)
	}
}
