package plugin

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

type log struct {
	mu      sync.Mutex
	polls   []int
	acks    []string
	closed  int
	written []int64
	flushed int
}

func (l *log) add(f func()) { l.mu.Lock(); f(); l.mu.Unlock() }

// countingSource emits seq 0..limit-1 per partition, then blocks in Poll until cancelled; with
// late set, a Poll cancelled by drain returns one record it "took from upstream".
type countingSource struct {
	log   *log
	limit int
	late  bool
	block chan struct{}
}

func (s *countingSource) Info() Info {
	return Info{Name: "counting", Version: "1.0.0", Summary: "for tests", ConfigKeys: []*pb.ConfigKey{
		Required(Key("topic", pb.ConfigType_CONFIG_TYPE_STRING, "")),
		Default(Key("limit", pb.ConfigType_CONFIG_TYPE_INT, ""), "10"),
	}}
}

func (s *countingSource) WatchPartitions(ctx context.Context, c Connector, send func(*pb.WatchPartitionsResponse) error) error {
	return StaticPartitions(ctx, send, "p0", "p1")
}

func (s *countingSource) Open(ctx context.Context, c Connector, p *pb.StreamPartition, offset []byte) (SourceReader, error) {
	if p.GetId() == "missing" {
		return nil, NotFound("stream partition %q does not exist", p.GetId())
	}
	next := 0
	if offset != nil {
		n, err := strconv.Atoi(string(offset))
		if err != nil {
			return nil, InvalidArgument("offset %q is not a seq", offset)
		}
		next = n + 1
	}
	limit, _ := c.Config.Int("limit", 10)
	return &countingReader{src: s, next: next, limit: int(limit)}, nil
}

type countingReader struct {
	src         *countingSource
	next, limit int
}

func (r *countingReader) Poll(ctx context.Context, max int) ([]*pb.Record, error) {
	r.src.log.add(func() { r.src.log.polls = append(r.src.log.polls, max) })
	if r.next >= r.limit {
		if r.src.block != nil {
			close(r.src.block)
			r.src.block = nil
		}
		<-ctx.Done()
		if r.src.late && r.next == r.limit {
			r.next++
			return []*pb.Record{{Offset: []byte(strconv.Itoa(r.next - 1)), Value: []byte("late")}}, nil
		}
		return nil, ctx.Err()
	}
	n := min(max, r.limit-r.next)
	out := make([]*pb.Record, n)
	for i := range out {
		out[i] = &pb.Record{Offset: []byte(strconv.Itoa(r.next + i)), Value: []byte(strconv.Itoa(r.next + i))}
	}
	r.next += n
	return out, nil
}

func (r *countingReader) Ack(ctx context.Context, offset []byte, records uint64) error {
	r.src.log.add(func() { r.src.log.acks = append(r.src.log.acks, fmt.Sprintf("%s/%d", offset, records)) })
	return nil
}

func (r *countingReader) Close() error { r.src.log.add(func() { r.src.log.closed++ }); return nil }

func dial(t *testing.T, p Plugin) pb.ConnectorPluginServiceClient {
	t.Helper()
	server, err := NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = server.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///buf", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); server.Stop() })
	return pb.NewConnectorPluginServiceClient(conn)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openReq(partition string, offset []byte, config map[string]string) *pb.ReadRequest {
	if config == nil {
		config = map[string]string{"topic": "t"}
	}
	return &pb.ReadRequest{Kind: &pb.ReadRequest_Open{Open: &pb.ReadOpen{Connector: &pb.Connector{Name: "c", Config: config}, Partition: &pb.StreamPartition{Id: partition}, Offset: offset}}}
}

func credit(n uint32) *pb.ReadRequest {
	return &pb.ReadRequest{Kind: &pb.ReadRequest_Credit{Credit: &pb.ReadCredit{Records: n}}}
}

func offsets(b *pb.RecordBatch) []string {
	var out []string
	for _, r := range b.GetRecords() {
		out = append(out, string(r.GetOffset()))
	}
	return out
}

func TestDescribeAndValidateApplyTheSpec(t *testing.T) {
	client := dial(t, &countingSource{log: &log{}})
	d, err := client.Describe(ctxT(t), &pb.DescribeRequest{})
	if err != nil || d.GetName() != "counting" || d.GetKind() != pb.ConnectorKind_CONNECTOR_KIND_SOURCE || len(d.GetConfigKeys()) != 2 {
		t.Fatalf("describe: %v %v", d, err)
	}
	v, err := client.Validate(ctxT(t), &pb.ValidateRequest{Connector: &pb.Connector{Config: map[string]string{"limit": "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range v.GetErrors() {
		got[e.GetKey()] = e.GetMessage()
	}
	if got["topic"] != "is required" || got["limit"] != `must be an integer, got "x"` || len(got) != 2 {
		t.Fatalf("validate: %v", got)
	}
	w, _ := client.Write(ctxT(t))
	if _, err := w.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Write on a source: %v", err)
	}
}

func TestCreditsExactlyExhaustedThenDrainMidPollThenAcksAfterDrain(t *testing.T) {
	l := &log{}
	block := make(chan struct{})
	client := dial(t, &countingSource{log: l, late: true, block: block})
	stream, err := client.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(stream.Send(openReq("p0", nil, map[string]string{"topic": "t", "limit": "5"})))
	must(stream.Send(credit(3)))
	var got []string
	for len(got) < 3 {
		m, err := stream.Recv()
		must(err)
		got = append(got, offsets(m.GetBatch())...)
	}
	if fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("first records: %v", got)
	}
	time.Sleep(200 * time.Millisecond) // give a wrong SDK the chance to poll with no credits
	l.add(func() {
		if fmt.Sprint(l.polls) != "[3]" {
			t.Errorf("polls with credits exhausted: %v", l.polls)
		}
	})
	must(stream.Send(credit(10)))
	m, err := stream.Recv()
	must(err)
	if fmt.Sprint(offsets(m.GetBatch())) != "[3 4]" {
		t.Fatalf("second batch: %v", offsets(m.GetBatch()))
	}
	<-block // the reader is now blocked upstream
	must(stream.Send(&pb.ReadRequest{Kind: &pb.ReadRequest_Ack{Ack: &pb.ReadAck{Offset: []byte("2"), Records: 3}}}))
	must(stream.Send(&pb.ReadRequest{Kind: &pb.ReadRequest_Drain{Drain: &pb.ReadDrain{}}}))
	late, err := stream.Recv()
	must(err)
	if fmt.Sprint(offsets(late.GetBatch())) != "[5]" {
		t.Fatalf("the drained poll's records: %v", late)
	}
	drained, err := stream.Recv()
	must(err)
	if d := drained.GetDrained(); d == nil || string(d.GetLastOffset()) != "5" || d.GetRecords() != 6 {
		t.Fatalf("drained: %v", drained)
	}
	must(stream.Send(&pb.ReadRequest{Kind: &pb.ReadRequest_Ack{Ack: &pb.ReadAck{Offset: []byte("5"), Records: 6}}}))
	must(stream.CloseSend())
	if _, err := stream.Recv(); err == nil {
		t.Fatal("expected the stream to end")
	}
	l.add(func() {
		if fmt.Sprint(l.acks) != "[2/3 5/6]" || l.closed != 1 {
			t.Errorf("acks %v closed %d", l.acks, l.closed)
		}
	})
}

func TestEndWithoutDrainClosesTheReader(t *testing.T) {
	l := &log{}
	client := dial(t, &countingSource{log: l, limit: 0})
	stream, _ := client.Read(ctxT(t))
	_ = stream.Send(openReq("p0", []byte("6"), nil))
	_ = stream.Send(credit(100))
	m, err := stream.Recv()
	if err != nil || fmt.Sprint(offsets(m.GetBatch())) != "[7 8 9]" {
		t.Fatalf("resumed after the committed offset: %v %v", m, err)
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err == nil {
		t.Fatal("expected the stream to end")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var closed int
		l.add(func() { closed = l.closed })
		if closed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reader not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMalformedOpensAreRejected(t *testing.T) {
	client := dial(t, &countingSource{log: &log{}})
	cases := []struct {
		msgs []*pb.ReadRequest
		code codes.Code
	}{
		{[]*pb.ReadRequest{credit(1)}, codes.InvalidArgument},
		{[]*pb.ReadRequest{{Kind: &pb.ReadRequest_Open{Open: &pb.ReadOpen{}}}}, codes.InvalidArgument},
		{[]*pb.ReadRequest{openReq("missing", nil, nil)}, codes.NotFound},
		{[]*pb.ReadRequest{openReq("p0", nil, nil), openReq("p0", nil, nil)}, codes.InvalidArgument},
	}
	for i, c := range cases {
		stream, _ := client.Read(ctxT(t))
		for _, m := range c.msgs {
			_ = stream.Send(m)
		}
		var err error
		for err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != c.code {
			t.Errorf("case %d: %v, want %s", i, err, c.code)
		}
	}
}

type greedy struct{ countingSource }

func (g *greedy) Open(context.Context, Connector, *pb.StreamPartition, []byte) (SourceReader, error) {
	return greedyReader{}, nil
}

type greedyReader struct{}

func (greedyReader) Poll(_ context.Context, max int) ([]*pb.Record, error) {
	return make([]*pb.Record, max+1), nil
}
func (greedyReader) Ack(context.Context, []byte, uint64) error { return nil }
func (greedyReader) Close() error                              { return nil }

func TestAPollReturningMoreThanMaxFailsTheStream(t *testing.T) {
	client := dial(t, &greedy{countingSource{log: &log{}}})
	stream, _ := client.Read(ctxT(t))
	_ = stream.Send(openReq("p0", nil, nil))
	_ = stream.Send(credit(2))
	_, err := stream.Recv()
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v", err)
	}
}

type recordingSink struct {
	log  *log
	gate chan struct{}
	held *int64
}

func (s *recordingSink) Info() Info { return Info{Name: "recording"} }
func (s *recordingSink) Open(ctx context.Context, c Connector, p *pb.StreamPartition, committed *int64) (SinkWriter, error) {
	return &recordingWriter{s}, nil
}

type recordingWriter struct{ s *recordingSink }

func (w *recordingWriter) Write(ctx context.Context, records []*pb.Record) error {
	w.s.log.add(func() {
		for _, r := range records {
			w.s.log.written = append(w.s.log.written, r.GetKafkaOffset())
		}
	})
	return nil
}
func (w *recordingWriter) Flush(ctx context.Context) error {
	var n int
	w.s.log.add(func() { n = len(w.s.log.written) })
	if n > 0 {
		<-w.s.gate
	}
	w.s.log.add(func() { w.s.log.flushed++ })
	return nil
}
func (w *recordingWriter) Close() error { w.s.log.add(func() { w.s.log.closed++ }); return nil }
func (w *recordingWriter) ResumeAfter() (int64, bool) {
	if w.s.held == nil {
		return 0, false
	}
	return *w.s.held, true
}

func TestASinkReportsDurableOnlyAfterFlushReturned(t *testing.T) {
	l := &log{}
	gate := make(chan struct{})
	client := dial(t, &recordingSink{log: l, gate: gate})
	stream, _ := client.Write(ctxT(t))
	_ = stream.Send(&pb.WriteRequest{Kind: &pb.WriteRequest_Open{Open: &pb.WriteOpen{Partition: &pb.StreamPartition{Id: "t-0", Topic: proto.String("t"), KafkaPartition: proto.Int32(0)}}}})
	opened, err := stream.Recv()
	if err != nil || opened.GetOpened() == nil || opened.GetOpened().ResumeAfterOffset != nil {
		t.Fatalf("opened: %v %v", opened, err)
	}
	flush := &pb.WriteRequest{Kind: &pb.WriteRequest_Flush{Flush: &pb.WriteFlush{}}}
	batch := func(offs ...int64) *pb.WriteRequest {
		rs := make([]*pb.Record, len(offs))
		for i, o := range offs {
			rs[i] = &pb.Record{KafkaOffset: proto.Int64(o)}
		}
		return &pb.WriteRequest{Kind: &pb.WriteRequest_Batch{Batch: &pb.RecordBatch{Records: rs}}}
	}
	_ = stream.Send(flush) // nothing received: no durable
	_ = stream.Send(batch(10, 11))
	_ = stream.Send(batch(12))
	_ = stream.Send(flush)
	got := make(chan *pb.WriteResponse, 1)
	go func() { m, _ := stream.Recv(); got <- m }()
	select {
	case m := <-got:
		t.Fatalf("durable before flush returned: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
	close(gate)
	m := <-got
	if m.GetDurable().GetThroughOffset() != 12 {
		t.Fatalf("durable: %v", m)
	}
	l.add(func() {
		if l.flushed != 2 || fmt.Sprint(l.written) != "[10 11 12]" {
			t.Errorf("flushed %d written %v", l.flushed, l.written)
		}
	})
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err == nil {
		t.Fatal("expected end")
	}
}

func TestAnOffsetHoldingSinkResumesAfterWhatItHolds(t *testing.T) {
	held := int64(41)
	client := dial(t, &recordingSink{log: &log{}, gate: make(chan struct{}), held: &held})
	stream, _ := client.Write(ctxT(t))
	_ = stream.Send(&pb.WriteRequest{Kind: &pb.WriteRequest_Open{Open: &pb.WriteOpen{Partition: &pb.StreamPartition{Id: "t-0"}}}})
	_ = stream.Send(&pb.WriteRequest{Kind: &pb.WriteRequest_Flush{Flush: &pb.WriteFlush{}}})
	opened, _ := stream.Recv()
	durable, err := stream.Recv()
	if opened.GetOpened().GetResumeAfterOffset() != 41 || err != nil || durable.GetDurable().GetThroughOffset() != 41 {
		t.Fatalf("opened %v durable %v %v", opened, durable, err)
	}
}

func TestConfigSpecChecksMatchTheWorker(t *testing.T) {
	keys := []*pb.ConfigKey{
		Key("n", pb.ConfigType_CONFIG_TYPE_INT, ""), Key("d", pb.ConfigType_CONFIG_TYPE_DOUBLE, ""),
		Key("b", pb.ConfigType_CONFIG_TYPE_BOOLEAN, ""), Key("w", pb.ConfigType_CONFIG_TYPE_DURATION_MS, ""),
		{Name: "m", Type: pb.ConfigType_CONFIG_TYPE_LIST, AllowedValues: []string{"a", "b"}},
	}
	got := map[string]string{}
	for _, e := range ValidateConfig(keys, map[string]string{"n": "9007199254740993", "d": "1e", "b": "yes", "w": "-1", "m": "a, c"}) {
		got[e.GetKey()] = e.GetMessage()
	}
	want := map[string]string{
		"n": `is out of range: "9007199254740993"`, "d": `must be a number, got "1e"`, "b": `must be "true" or "false", got "yes"`,
		"w": `must be a duration in milliseconds (a non-negative integer), got "-1"`, "m": `"c" is not one of "a", "b"`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v", got)
	}
	if p := ValidateConfig(keys, map[string]string{"n": "+7", "d": ".5", "b": "TRUE", "w": "0", "m": ""}); len(p) != 0 {
		t.Fatalf("valid config rejected: %v", p)
	}
}

func TestStructuredValuesRoundTrip(t *testing.T) {
	row := StructSchema("row",
		FieldOf("id", SchemaOf(pb.SchemaType_SCHEMA_TYPE_INT64, false)),
		FieldOf("name", SchemaOf(pb.SchemaType_SCHEMA_TYPE_STRING, true)),
		FieldOf("tags", &pb.Schema{Type: pb.SchemaType_SCHEMA_TYPE_ARRAY, ValueSchema: SchemaOf(pb.SchemaType_SCHEMA_TYPE_STRING, false)}),
	)
	d, err := ToData(map[string]any{"id": 7, "name": nil, "tags": []any{"x"}}, row)
	if err != nil {
		t.Fatal(err)
	}
	back := FromData(d, row).(map[string]any)
	if back["id"] != int64(7) || back["name"] != nil || fmt.Sprint(back["tags"]) != "[x]" {
		t.Fatalf("round trip: %v", back)
	}
	if _, err := ToData(map[string]any{"id": "x", "tags": []any{}}, row); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad field: %v", err)
	}
	if _, err := ToData(300, SchemaOf(pb.SchemaType_SCHEMA_TYPE_INT8, false)); err == nil {
		t.Fatal("INT8 range not checked")
	}
	if m, err := ToData(map[string]any{"b": 1, "a": []byte("z")}, nil); err != nil || len(m.GetMap().GetEntries()) != 2 || m.GetMap().GetEntries()[0].GetKey().GetString_() != "a" {
		t.Fatalf("schemaless map: %v %v", m, err)
	}
}
