package dev.tributary.bridge;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Turns Java failures into gRPC statuses whose message carries the stack trace (bounded). */
final class Failures {
  /** gRPC carries the message in a trailer; stay well under the usual 8 KiB header limit. */
  static final int MAX_MESSAGE = 6_000;

  private Failures() {}

  static String trace(Throwable t) {
    StringWriter out = new StringWriter();
    t.printStackTrace(new PrintWriter(out));
    return out.toString();
  }

  static String threadTrace(Thread thread) {
    StringBuilder b = new StringBuilder("\"").append(thread.getName()).append("\" ").append(thread.getState()).append('\n');
    for (StackTraceElement e : thread.getStackTrace()) b.append("\tat ").append(e).append('\n');
    return b.toString();
  }

  static String bounded(String s) {
    return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "\n\t... (" + (s.length() - MAX_MESSAGE) + " more characters)";
  }

  /** INTERNAL (or the status a StatusRuntimeException already has), "<what>: <stack trace>". */
  static StatusRuntimeException status(String what, Throwable t) {
    if (t instanceof StatusRuntimeException sre) return sre;
    Status base = t instanceof IllegalArgumentException || t instanceof org.apache.kafka.common.config.ConfigException
        ? Status.INVALID_ARGUMENT : Status.INTERNAL;
    return base.withDescription(bounded(what + ": " + trace(t))).asRuntimeException();
  }

  static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }
}
