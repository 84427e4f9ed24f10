package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

// ProtocolVersion is the version printed in the handshake line.
const ProtocolVersion = 1

// HandshakePrefix is the handshake line's first word.
const HandshakePrefix = "TRIBUTARY_PLUGIN"

// ServingHealth is grpc.health.v1.Health answering SERVING for the server and any service name
// (the standard health server answers NOT_FOUND for names it was not told about).
type ServingHealth struct {
	healthpb.UnimplementedHealthServer
}

func (ServingHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (ServingHealth) Watch(_ *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

// NewServer returns a gRPC server with p's service and health registered (not listening), e.g.
// to serve a plugin as a remote endpoint (`grpc://host:port`) yourself.
func NewServer(p Plugin) (*grpc.Server, error) {
	svc, err := NewService(p)
	if err != nil {
		return nil, err
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	pb.RegisterConnectorPluginServiceServer(server, svc)
	healthpb.RegisterHealthServer(server, ServingHealth{})
	return server, nil
}

// ServeOptions tune Serve.
type ServeOptions struct {
	// Grace is how long in-flight calls may run after SIGTERM (default 2 s); open Read and
	// Write streams are cancelled after it.
	Grace time.Duration
}

// Serve is the main of a plugin child process: it binds a unix socket in a fresh temp dir,
// serves p and health, prints the handshake line, and exits the process: at once when stdin
// reaches EOF (the worker is gone), with status 0 after SIGTERM/SIGINT and the grace. It
// removes the socket dir on the way out. It returns only if it cannot start. Logs go to stderr
// (log/slog's default); after the handshake os.Stdout points at stderr, so a stray fmt.Println
// cannot corrupt the protocol.
func Serve(p Plugin, opts ...ServeOptions) error {
	grace := 2 * time.Second
	for _, o := range opts {
		if o.Grace > 0 {
			grace = o.Grace
		}
	}
	server, err := NewServer(p)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tributary-plugin-")
	if err != nil {
		return fmt.Errorf("plugin: creating the socket dir: %w", err)
	}
	socket := filepath.Join(dir, "plugin.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("plugin: binding %s: %w", socket, err)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	go func() {
		// The worker holds our stdin open and never writes; EOF means it is gone.
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	stdout := os.Stdout
	if _, err := fmt.Fprintf(stdout, "%s %d unix://%s\n", HandshakePrefix, ProtocolVersion, socket); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("plugin: writing the handshake line: %w", err)
	}
	_ = stdout.Sync()
	os.Stdout = os.Stderr
	slog.Info("plugin serving", "plugin", p.Info().Name, "address", "unix://"+socket)

	select {
	case <-stdinClosed:
		slog.Info("plugin exiting: stdin closed (the worker is gone)")
		os.RemoveAll(dir)
		os.Exit(0)
	case sig := <-signals:
		slog.Info("plugin shutting down", "signal", sig.String())
		stopped := make(chan struct{})
		go func() { server.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(grace):
			server.Stop()
		case <-stdinClosed:
			server.Stop()
		}
		os.RemoveAll(dir)
		os.Exit(0)
	case err := <-served:
		os.RemoveAll(dir)
		return fmt.Errorf("plugin: serving stopped: %w", err)
	}
	return nil
}
