"""The child-process side of the handshake: one stdout line, health, SIGTERM, stdin EOF."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tributary_sdk._gen.tributary.connector.v1 import connector_pb2 as pb
from tributary_sdk._gen.tributary.connector.v1 import connector_pb2_grpc as pb_grpc

MAIN = Path(__file__).with_name("plugin_main.py")


def start() -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, str(MAIN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    m = re.fullmatch(r"TRIBUTARY_PLUGIN 1 (unix:///\S+)\n", line)
    assert m, f"handshake line: {line!r}"
    return proc, m.group(1)


def wait_exit(proc: subprocess.Popen[bytes], timeout: float = 10) -> int:
    return proc.wait(timeout=timeout)


def test_handshake_health_and_sigterm_exit_0_removing_the_socket_dir() -> None:
    proc, address = start()
    sock_dir = Path(address.removeprefix("unix://")).parent
    try:
        assert len(address.removeprefix("unix://")) < 100
        with grpc.insecure_channel(address) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            for service in ("", "tributary.connector.v1.ConnectorPluginService", "anything"):
                assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
            stub = pb_grpc.ConnectorPluginServiceStub(ch)
            assert stub.Describe(pb.DescribeRequest(), timeout=5).name == "idle-source"
            # An open Read stream (blocked in poll) must not keep the process from exiting.
            call = stub.Read(iter([pb.ReadRequest(open=pb.ReadOpen(partition=pb.StreamPartition(id="p0"))), pb.ReadRequest(credit=pb.ReadCredit(records=5))]))
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            assert wait_exit(proc) == 0
            call.cancel()
        assert not sock_dir.exists()
        assert proc.stdout is not None and proc.stdout.read() == b"", "nothing on stdout after the handshake"
        assert proc.stderr is not None and b"a stray print after the handshake goes to stderr" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_stdin_eof_exits_at_once() -> None:
    proc, address = start()
    try:
        assert proc.stdin is not None
        proc.stdin.close()
        assert wait_exit(proc, 5) == 0
        assert not Path(address.removeprefix("unix://")).parent.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
