package plugin

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors with the gRPC status the protocol asks for. Return them from plugin methods; any other
// error reaches the worker as INTERNAL.

func invalidArgument(format string, args ...any) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf(format, args...))
}

// InvalidArgument is bad input (a config value, an offset), named in the message.
func InvalidArgument(format string, args ...any) error { return invalidArgument(format, args...) }

// NotFound is e.g. an unknown stream partition.
func NotFound(format string, args ...any) error {
	return status.Error(codes.NotFound, fmt.Sprintf(format, args...))
}

// FailedPrecondition is a call the plugin's state does not allow.
func FailedPrecondition(format string, args ...any) error {
	return status.Error(codes.FailedPrecondition, fmt.Sprintf(format, args...))
}

// Unavailable is the external system being down (the worker retries).
func Unavailable(format string, args ...any) error {
	return status.Error(codes.Unavailable, fmt.Sprintf(format, args...))
}
