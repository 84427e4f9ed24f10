package dev.tributary.bridge;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Connector;
import org.apache.kafka.connect.source.SourceConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tributary.connector.v1.ConnectorOuterClass.ConfigError;
import tributary.connector.v1.ConnectorOuterClass.ConnectorCreatedRequest;
import tributary.connector.v1.ConnectorOuterClass.ConnectorCreatedResponse;
import tributary.connector.v1.ConnectorOuterClass.ConnectorDeletedRequest;
import tributary.connector.v1.ConnectorOuterClass.ConnectorDeletedResponse;
import tributary.connector.v1.ConnectorOuterClass.ConnectorUpdatedRequest;
import tributary.connector.v1.ConnectorOuterClass.ConnectorUpdatedResponse;
import tributary.connector.v1.ConnectorOuterClass.DescribeRequest;
import tributary.connector.v1.ConnectorOuterClass.DescribeResponse;
import tributary.connector.v1.ConnectorOuterClass.ReadRequest;
import tributary.connector.v1.ConnectorOuterClass.ReadResponse;
import tributary.connector.v1.ConnectorOuterClass.StreamPartition;
import tributary.connector.v1.ConnectorOuterClass.ValidateRequest;
import tributary.connector.v1.ConnectorOuterClass.ValidateResponse;
import tributary.connector.v1.ConnectorOuterClass.WatchPartitionsRequest;
import tributary.connector.v1.ConnectorOuterClass.WatchPartitionsResponse;
import tributary.connector.v1.ConnectorOuterClass.WriteRequest;
import tributary.connector.v1.ConnectorOuterClass.WriteResponse;
import tributary.connector.v1.ConnectorPluginServiceGrpc;

/**
 * ConnectorPluginService over one Kafka Connect connector class:
 * Describe ← {@code Connector.config()}, Validate ← {@code Connector.validate()},
 * WatchPartitions ← {@code start()} + {@code taskConfigs(tasks.max)} (one stream partition per
 * task config, id {@code task-<i>}; {@code requestTaskReconfiguration()} re-asks and sends the
 * change), Read ← a SourceTask per partition, Write ← the process's one SinkTask.
 */
final class Bridge extends ConnectorPluginServiceGrpc.ConnectorPluginServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(Bridge.class);
  /**
   * Threads left behind by stopped tasks beyond which the process exits, so the worker restarts
   * it clean (TRIBUTARY_BRIDGE_MAX_LEAKED_THREADS, default 256).
   */
  static final int MAX_LEAKED_THREADS = Integer.parseInt(System.getenv().getOrDefault("TRIBUTARY_BRIDGE_MAX_LEAKED_THREADS", "256"));

  private final ConnectPlugin plugin;
  private final SinkHost sink;
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "tributary-bridge-timers");
    t.setDaemon(true);
    return t;
  });
  private final AtomicInteger leaked = new AtomicInteger();

  Bridge(ConnectPlugin plugin) {
    this.plugin = plugin;
    this.sink = new SinkHost(plugin);
  }

  void stop() {
    sink.stop();
    timers.shutdownNow();
  }

  @Override
  public void describe(DescribeRequest request, StreamObserver<DescribeResponse> out) {
    try {
      Connector c = plugin.newConnector();
      DescribeResponse.Builder b = DescribeResponse.newBuilder()
          .setName(plugin.connectorClass.getName())
          .setKind(plugin.kind)
          .setSummary("Kafka Connect " + plugin.connectorClass.getSimpleName() + " (" + plugin.loader.location().getFileName() + ") through the Tributary bridge");
      plugin.withLoader(() -> {
        b.setVersion(Objects.requireNonNullElse(c.version(), ""));
        b.addAllConfigKeys(ConnectPlugin.configKeys(c.config()));
        return null;
      });
      out.onNext(b.build());
      out.onCompleted();
    } catch (Throwable e) {
      out.onError(Failures.status("Describe of " + plugin.connectorClass.getName() + " failed", e));
    }
  }

  @Override
  public void validate(ValidateRequest request, StreamObserver<ValidateResponse> out) {
    Map<String, String> config = ConnectPlugin.connectConfig(request.getConnector());
    ValidateResponse.Builder b = ValidateResponse.newBuilder();
    try {
      ConnectPlugin.tasksMax(config);
    } catch (IllegalArgumentException e) {
      b.addErrors(ConfigError.newBuilder().setKey(ConnectPlugin.TASKS_MAX).setMessage(e.getMessage()));
    }
    try {
      ConnectPlugin.startTimeoutMs(config);
    } catch (IllegalArgumentException e) {
      b.addErrors(ConfigError.newBuilder().setKey(ConnectPlugin.START_TIMEOUT).setMessage(e.getMessage()));
    }
    try {
      Converters.from(plugin, config);
    } catch (IllegalArgumentException e) {
      String key = e.getMessage().startsWith(ConnectPlugin.KEY_CONVERTER) ? ConnectPlugin.KEY_CONVERTER : ConnectPlugin.VALUE_CONVERTER;
      b.addErrors(ConfigError.newBuilder().setKey(key).setMessage(e.getMessage()));
    }
    try {
      Config result = plugin.withLoader(() -> plugin.newConnector().validate(config));
      for (ConfigValue v : result.configValues()) {
        for (String message : v.errorMessages()) b.addErrors(ConfigError.newBuilder().setKey(v.name()).setMessage(message));
      }
      out.onNext(b.build());
      out.onCompleted();
    } catch (Throwable e) {
      b.addErrors(ConfigError.newBuilder().setKey("").setMessage(Failures.bounded(plugin.connectorClass.getName() + ".validate() threw: " + Failures.trace(e))));
      out.onNext(b.build());
      out.onCompleted();
    }
  }

  @Override
  public void watchPartitions(WatchPartitionsRequest request, StreamObserver<WatchPartitionsResponse> out) {
    if (!(SourceConnector.class.isAssignableFrom(plugin.connectorClass))) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(plugin.connectorClass.getName() + " is a sink connector: its partitions are its topics' partitions").asRuntimeException());
      return;
    }
    new Watch(ConnectPlugin.connectConfig(request.getConnector()), (ServerCallStreamObserver<WatchPartitionsResponse>) out).start();
  }

  /** Runs the connector for a WatchPartitions stream, on a thread of its own, until the call ends. */
  private final class Watch extends BridgeConnectorContext {
    private final Map<String, String> config;
    private final ServerCallStreamObserver<WatchPartitionsResponse> out;
    private final Object lock = new Object();
    private boolean reconfigure;
    private boolean ended;
    private boolean started;
    private Exception raised;
    private Map<String, StreamPartition> current = new LinkedHashMap<>();

    Watch(Map<String, String> config, ServerCallStreamObserver<WatchPartitionsResponse> out) {
      super(plugin.connectorClass.getName());
      this.config = config;
      this.out = out;
      out.setOnCancelHandler(() -> {
        synchronized (lock) {
          ended = true;
          lock.notifyAll();
        }
      });
    }

    void start() {
      long timeout;
      int maxTasks;
      try {
        timeout = ConnectPlugin.startTimeoutMs(config);
        maxTasks = ConnectPlugin.tasksMax(config);
      } catch (IllegalArgumentException e) {
        out.onError(Failures.invalid(e.getMessage()));
        return;
      }
      Thread t = new Thread(new ThreadGroup("kafka-connect-connector"), () -> run(maxTasks), "kafka-connect-connector");
      t.setContextClassLoader(plugin.loader);
      t.setDaemon(true);
      t.start();
      watchStart(plugin.connectorClass.getName() + ".start()", timeout, () -> {
        synchronized (lock) {
          return started || ended;
        }
      }, t, this::fail);
    }

    private void run(int maxTasks) {
      Connector c = plugin.newConnector();
      try {
        c.initialize(this);
        try {
          c.start(config);
        } catch (Throwable e) {
          fail(Failures.status(plugin.connectorClass.getName() + ".start() threw", e));
          return;
        }
        synchronized (lock) {
          if (ended) return;
          started = true;
        }
        boolean first = true;
        while (true) {
          List<Map<String, String>> configs = c.taskConfigs(maxTasks);
          Map<String, StreamPartition> next = new LinkedHashMap<>();
          for (int i = 0; i < configs.size(); i++) {
            String id = "task-" + i;
            next.put(id, StreamPartition.newBuilder().setId(id).putAllAttributes(ConnectPlugin.taskAttributes(i, config, configs.get(i))).build());
          }
          WatchPartitionsResponse.Builder msg = WatchPartitionsResponse.newBuilder().setSnapshot(first);
          for (StreamPartition p : next.values()) {
            StreamPartition before = current.get(p.getId());
            if (first || before == null) {
              msg.addAdded(p);
            } else if (!before.equals(p)) {
              // A changed task config: the partition is restarted with the new one.
              msg.addRemoved(p.getId());
              msg.addAdded(p);
            }
          }
          for (String id : current.keySet()) if (!next.containsKey(id)) msg.addRemoved(id);
          current = next;
          synchronized (lock) {
            if (ended) return;
            if (first || msg.getAddedCount() > 0 || msg.getRemovedCount() > 0) {
              out.onNext(msg.build());
              log.info("{} task configs: {} partitions{}", plugin.connectorClass.getName(), next.size(), first ? " (snapshot)" : "");
            }
            first = false;
            while (!reconfigure && !ended && raised == null) lock.wait();
            if (raised != null) {
              fail(Failures.status(plugin.connectorClass.getName() + " raised an error through ConnectorContext.raiseError()", raised));
              return;
            }
            if (ended) return;
            reconfigure = false;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Throwable e) {
        fail(Failures.status(plugin.connectorClass.getName() + " failed while listing task configs", e));
      } finally {
        try {
          c.stop();
        } catch (Throwable e) {
          log.warn("{}.stop() threw", plugin.connectorClass.getName(), e);
        }
      }
    }

    private void fail(StatusRuntimeException e) {
      synchronized (lock) {
        if (ended) return;
        ended = true;
        lock.notifyAll();
        log.error("connector failed: {}", e.getStatus().getDescription());
        try {
          out.onError(e);
        } catch (RuntimeException ignored) {
          // cancelled meanwhile
        }
      }
    }

    @Override
    public void requestTaskReconfiguration() {
      synchronized (lock) {
        reconfigure = true;
        lock.notifyAll();
      }
    }

    @Override
    public void raiseError(Exception e) {
      synchronized (lock) {
        raised = e;
        lock.notifyAll();
      }
    }
  }

  @Override
  public StreamObserver<ReadRequest> read(StreamObserver<ReadResponse> out) {
    if (!(SourceConnector.class.isAssignableFrom(plugin.connectorClass))) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(plugin.connectorClass.getName() + " is a sink connector; Read is for sources").asRuntimeException());
      return new NoOp<>();
    }
    return new SourceStream(this, plugin, out);
  }

  @Override
  public StreamObserver<WriteRequest> write(StreamObserver<WriteResponse> out) {
    if (SourceConnector.class.isAssignableFrom(plugin.connectorClass)) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(plugin.connectorClass.getName() + " is a source connector; Write is for sinks").asRuntimeException());
      return new NoOp<>();
    }
    return sink.stream(out);
  }

  // Kafka Connect connectors have no create/update/delete lifecycle of their own: these hooks
  // have nothing to call (the connector's start()/stop() run with its partitions).
  @Override
  public void connectorCreated(ConnectorCreatedRequest request, StreamObserver<ConnectorCreatedResponse> out) {
    out.onNext(ConnectorCreatedResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void connectorUpdated(ConnectorUpdatedRequest request, StreamObserver<ConnectorUpdatedResponse> out) {
    out.onNext(ConnectorUpdatedResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void connectorDeleted(ConnectorDeletedRequest request, StreamObserver<ConnectorDeletedResponse> out) {
    out.onNext(ConnectorDeletedResponse.getDefaultInstance());
    out.onCompleted();
  }

  /**
   * Fails a start() that has not returned within {@code timeoutMs}: the status carries the
   * stuck thread's stack, and the thread is interrupted (and, if it never returns, counted as
   * leaked).
   */
  void watchStart(String what, long timeoutMs, BooleanSupplier done, Thread thread, Consumer<StatusRuntimeException> fail) {
    timers.schedule(() -> {
      if (done.getAsBoolean()) return;
      String stack = Failures.threadTrace(thread);
      fail.accept(Status.DEADLINE_EXCEEDED.withDescription(Failures.bounded(what + " did not return within " + timeoutMs + " ms (" + ConnectPlugin.START_TIMEOUT
          + "); the thread running it:\n" + stack)).asRuntimeException());
      thread.interrupt();
    }, timeoutMs, TimeUnit.MILLISECONDS);
  }

  /**
   * After a task's thread ends, the threads it started should end too. Those still alive after a
   * grace are logged with their stacks and interrupted; past MAX_LEAKED_THREADS in all, the
   * process exits with a message so the worker restarts it clean.
   */
  void checkLeaks(ThreadGroup group, Thread taskThread, String partition) {
    timers.schedule(() -> {
      Thread[] threads = new Thread[group.activeCount() + 8];
      int n = group.enumerate(threads, true);
      List<Thread> alive = new ArrayList<>();
      for (int i = 0; i < n; i++) if (threads[i] != taskThread && threads[i].isAlive()) alive.add(threads[i]);
      if (alive.isEmpty()) return;
      StringBuilder b = new StringBuilder();
      for (Thread t : alive) {
        b.append(Failures.threadTrace(t));
        t.interrupt();
      }
      int total = leaked.addAndGet(alive.size());
      log.warn("partition {}: the stopped task left {} thread(s) running ({} leaked in this process):\n{}", partition, alive.size(), total, Failures.bounded(b.toString()));
      if (total > MAX_LEAKED_THREADS) {
        log.error("{} threads leaked by stopped tasks (more than {}): exiting so that the worker restarts this bridge process", total, MAX_LEAKED_THREADS);
        System.exit(70);
      }
    }, 2, TimeUnit.SECONDS);
  }

  private static final class NoOp<T> implements StreamObserver<T> {
    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
