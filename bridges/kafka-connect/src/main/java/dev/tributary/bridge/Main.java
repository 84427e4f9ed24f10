package dev.tributary.bridge;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The bridge's child-process main, following docs/connector-protocol.md to the letter: serve
 * ConnectorPluginService and grpc.health.v1.Health on a unix socket in a fresh temporary
 * directory, print {@code TRIBUTARY_PLUGIN 1 unix:///…} as the only stdout line, log to stderr,
 * exit at once when stdin reaches EOF, exit 0 after a short grace on SIGTERM/SIGINT, and remove
 * the socket directory on the way out.
 *
 * Usage: {@code Main --plugin-dir <dir> [--connector-class <class>]}
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) throws Exception {
    // Everything but the handshake goes to stderr, whatever a connector prints.
    PrintStream stdout = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);

    String dir = null;
    String connectorClass = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--plugin-dir" -> dir = value(args, ++i, "--plugin-dir");
        case "--connector-class" -> connectorClass = value(args, ++i, "--connector-class");
        default -> usage("unknown argument " + args[i]);
      }
    }
    if (dir == null) usage("--plugin-dir is required");
    ConnectPlugin plugin;
    try {
      plugin = ConnectPlugin.load(Paths.get(dir).toAbsolutePath().normalize(), connectorClass);
    } catch (IllegalArgumentException e) {
      System.err.println("tributary-kafka-connect: " + e.getMessage());
      System.exit(2);
      return;
    }

    Path socketDir = Files.createTempDirectory(Paths.get(System.getProperty("java.io.tmpdir")), "tkc-");
    Path socket = socketDir.resolve("plugin.sock");
    Bridge bridge = new Bridge(plugin);
    EventLoopGroup boss = new EpollEventLoopGroup(1);
    EventLoopGroup workers = new EpollEventLoopGroup(2);
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        .maxInboundMessageSize(64 * 1024 * 1024)
        .addService(bridge)
        .addService(new Health())
        .build()
        .start();

    AtomicBoolean stopping = new AtomicBoolean();
    Runnable cleanup = () -> {
      try {
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socketDir);
      } catch (IOException e) {
        log.warn("cannot remove {}: {}", socketDir, e.toString());
      }
    };
    Runtime.getRuntime().addShutdownHook(new Thread(cleanup, "tributary-cleanup"));

    // stdin EOF: the worker is gone (even one killed with SIGKILL closes the pipe). Exit at once.
    Thread stdin = new Thread(() -> {
      try (InputStream in = System.in) {
        byte[] buf = new byte[256];
        while (in.read(buf) >= 0) {
          // the worker never writes; ignore anything that arrives
        }
      } catch (IOException ignored) {
        // treated as EOF
      }
      log.info("stdin closed: the worker is gone; exiting");
      cleanup.run();
      Runtime.getRuntime().halt(0);
    }, "tributary-stdin");
    stdin.setDaemon(true);
    stdin.start();

    sun.misc.SignalHandler onSignal = sig -> {
      if (!stopping.compareAndSet(false, true)) return;
      new Thread(() -> {
        log.info("SIG{}: stopping", sig.getName());
        server.shutdown();
        try {
          if (!server.awaitTermination(2, TimeUnit.SECONDS)) server.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        bridge.stop();
        boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        cleanup.run();
        System.exit(0);
      }, "tributary-shutdown").start();
    };
    Signal.handle(new Signal("TERM"), onSignal);
    Signal.handle(new Signal("INT"), onSignal);

    log.info("serving {} ({}) from {} on {}", plugin.connectorClass.getName(), plugin.kind, plugin.loader.location(), socket);
    stdout.println("TRIBUTARY_PLUGIN 1 unix://" + socket);
    stdout.flush();
    server.awaitTermination();
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) usage(flag + " needs a value");
    return args[i];
  }

  private static void usage(String problem) {
    System.err.println("tributary-kafka-connect: " + problem + "\nusage: --plugin-dir <connector directory> [--connector-class <class name>]");
    System.exit(2);
  }

  /** grpc.health.v1.Health answering SERVING for every service name, as the protocol asks. */
  private static final class Health extends HealthGrpc.HealthImplBase {
    private static final HealthCheckResponse SERVING = HealthCheckResponse.newBuilder().setStatus(HealthCheckResponse.ServingStatus.SERVING).build();

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> out) {
      out.onNext(SERVING);
      out.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> out) {
      out.onNext(SERVING);
    }
  }
}
