"""Errors a plugin raises to answer a call with a particular gRPC status.

Raise `InvalidArgument` for bad input, `NotFound` (e.g. an unknown stream partition),
`FailedPrecondition`, or `Unavailable` when the external system is down (the worker retries).
Any other exception reaches the worker as INTERNAL with its type and message.
"""

from __future__ import annotations

import grpc


class PluginError(Exception):
    """Base class: `code` is the gRPC status the call ends with."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PluginError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(PluginError):
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(PluginError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(PluginError):
    code = grpc.StatusCode.UNAVAILABLE


def status_of(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status and message a call ends with when `err` escapes a plugin method."""
    if isinstance(err, PluginError):
        return err.code, err.message
    return grpc.StatusCode.INTERNAL, f"{type(err).__name__}: {err}"


class InternalError(PluginError):
    code = grpc.StatusCode.INTERNAL
