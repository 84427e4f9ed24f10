package dev.tributary.bridge;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.apache.kafka.connect.source.TransactionContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tributary.connector.v1.ConnectorOuterClass.ReadDrained;
import tributary.connector.v1.ConnectorOuterClass.ReadOpen;
import tributary.connector.v1.ConnectorOuterClass.ReadRequest;
import tributary.connector.v1.ConnectorOuterClass.ReadResponse;
import tributary.connector.v1.ConnectorOuterClass.Record;
import tributary.connector.v1.ConnectorOuterClass.RecordBatch;

/**
 * One Read stream: one Kafka Connect SourceTask (one task config) as one stream partition, on
 * a thread of its own (in a thread group of its own, so threads it leaks can be found). Its
 * loop is WorkerSourceTask's: {@code poll()}, hand the records on within the credits granted,
 * pass acks back as {@code commitRecord()} and {@code commit()}. Records of a poll beyond the
 * credits wait for more credits; on drain, what the credits cannot carry is not sent (and so
 * never acked: the next open re-reads it from the last committed offset).
 *
 * Failures (start() throwing or not returning within bridge.start.timeout.ms, poll() throwing)
 * end this stream alone with the Java stack trace in the status; other streams of the process
 * go on.
 */
final class SourceStream implements StreamObserver<ReadRequest> {
  private static final Logger log = LoggerFactory.getLogger(SourceStream.class);
  private static final SimpleHeaderConverter HEADERS = new SimpleHeaderConverter();

  private final ConnectPlugin plugin;
  private final ServerCallStreamObserver<ReadResponse> out;
  private final Bridge bridge;
  private final Object lock = new Object();
  private final ArrayDeque<SourceRecord> unacked = new ArrayDeque<>();
  private final ExecutorService acks = Executors.newSingleThreadExecutor(r -> new Thread(r, "tributary-acks"));
  private final DataMapping mapping = new DataMapping();
  private final OffsetBlob offsets = new OffsetBlob();

  // guarded by lock
  private long credits;
  private boolean opened;
  private boolean draining;
  private boolean ended;
  private boolean finished; // response stream completed or failed
  private boolean started;
  private String partitionId = "?";
  private long sent;
  private ByteString lastOffset;

  private volatile SourceTask task;
  private volatile Thread thread;
  private long ackedCount;
  private long lastCommitNanos;

  SourceStream(Bridge bridge, ConnectPlugin plugin, StreamObserver<ReadResponse> out) {
    this.bridge = bridge;
    this.plugin = plugin;
    this.out = (ServerCallStreamObserver<ReadResponse>) out;
    this.out.setOnCancelHandler(this::ended);
  }

  @Override
  public void onNext(ReadRequest req) {
    switch (req.getKindCase()) {
      case OPEN -> open(req.getOpen());
      case CREDIT -> {
        synchronized (lock) {
          credits += Integer.toUnsignedLong(req.getCredit().getRecords());
          lock.notifyAll();
        }
      }
      case ACK -> {
        long records = req.getAck().getRecords();
        acks.execute(() -> ack(records));
      }
      case DRAIN -> {
        synchronized (lock) {
          draining = true;
          lock.notifyAll();
        }
      }
      default -> {} // kinds added later: ignored, as the protocol says
    }
  }

  @Override
  public void onError(Throwable t) {
    ended();
  }

  @Override
  public void onCompleted() {
    ended();
  }

  private void ended() {
    synchronized (lock) {
      ended = true;
      lock.notifyAll();
    }
  }

  private void open(ReadOpen open) {
    synchronized (lock) {
      if (opened) {
        fail(Failures.invalid("a second open on one Read stream"));
        return;
      }
      opened = true;
      partitionId = open.getPartition().getId();
    }
    Map<String, String> connectorConfig = ConnectPlugin.connectConfig(open.getConnector());
    Map<String, String> taskConfig;
    long startTimeout;
    Converters converters;
    try {
      taskConfig = ConnectPlugin.taskConfig(connectorConfig, open.getPartition().getAttributesMap());
      startTimeout = ConnectPlugin.startTimeoutMs(connectorConfig);
      converters = Converters.from(plugin, connectorConfig);
      if (open.hasOffset()) offsets.restore(open.getOffset());
    } catch (RuntimeException e) {
      fail(Status.INVALID_ARGUMENT.withDescription("partition " + partitionId + ": " + e.getMessage()).asRuntimeException());
      return;
    }
    ThreadGroup group = new ThreadGroup("kafka-connect-task-" + partitionId);
    Thread t = new Thread(group, () -> run(taskConfig, converters), "kafka-connect-task-" + partitionId);
    t.setContextClassLoader(plugin.loader);
    t.setDaemon(true);
    thread = t;
    t.start();
    bridge.watchStart("SourceTask.start() of " + plugin.connectorClass.getName() + " for partition " + partitionId, startTimeout,
        () -> {
          synchronized (lock) {
            return started || finished;
          }
        }, t, this::fail);
  }

  private void run(Map<String, String> taskConfig, Converters converters) {
    String where = plugin.connectorClass.getName() + " task for partition " + partitionId;
    try {
      SourceConnector connector = (SourceConnector) plugin.newConnector();
      SourceTask t = (SourceTask) connector.taskClass().getDeclaredConstructor().newInstance();
      task = t;
      t.initialize(context(taskConfig));
      try {
        t.start(taskConfig);
      } catch (Throwable e) {
        fail(Failures.status("SourceTask.start() of " + where + " threw", e));
        return;
      }
      synchronized (lock) {
        if (finished) return; // the start watchdog gave up on us
        started = true;
      }
      log.info("source task started for partition {}", partitionId);
      loop(t, converters, where);
    } catch (Throwable e) {
      fail(Failures.status(where + " failed", e));
    } finally {
      closeTask();
    }
  }

  private void loop(SourceTask t, Converters converters, String where) throws InterruptedException {
    while (true) {
      synchronized (lock) {
        while (credits == 0 && !draining && !ended && !finished) lock.wait();
        if (ended || finished) return;
        if (draining) {
          drained();
          break;
        }
      }
      List<SourceRecord> polled;
      try {
        polled = t.poll();
      } catch (InterruptedException e) {
        throw e;
      } catch (Throwable e) {
        fail(Failures.status("SourceTask.poll() of " + where + " threw", e));
        return;
      }
      if (polled == null || polled.isEmpty()) continue;
      if (!send(polled, converters)) return;
    }
    // Drained: wait until the worker ends its request stream (final acks still arrive meanwhile).
    synchronized (lock) {
      while (!ended && !finished) lock.wait();
    }
  }

  /** Sends {@code polled} within the credits; false when the stream ended meanwhile. */
  private boolean send(List<SourceRecord> polled, Converters converters) throws InterruptedException {
    int i = 0;
    while (i < polled.size()) {
      long allowed;
      synchronized (lock) {
        while (credits == 0 && !draining && !ended && !finished) lock.wait();
        if (ended || finished) return false;
        if (credits == 0) {
          log.info("partition {}: drained with {} polled records beyond the credits; they were not sent and will be read again", partitionId, polled.size() - i);
          return true;
        }
        allowed = credits;
      }
      int n = (int) Math.min(allowed, polled.size() - i);
      RecordBatch.Builder batch = RecordBatch.newBuilder();
      List<SourceRecord> chunk = polled.subList(i, i + n);
      for (SourceRecord r : chunk) batch.addRecords(record(r, converters));
      synchronized (lock) {
        if (ended || finished) return false;
        credits -= n;
        sent += n;
        lastOffset = batch.getRecords(n - 1).getOffset();
        synchronized (unacked) {
          unacked.addAll(chunk);
        }
        out.onNext(ReadResponse.newBuilder().setBatch(batch).build());
      }
      i += n;
    }
    return true;
  }

  private Record record(SourceRecord r, Converters converters) {
    Record.Builder b = Record.newBuilder();
    if (r.topic() != null) b.setTopic(r.topic());
    if (r.kafkaPartition() != null) b.setKafkaPartition(r.kafkaPartition());
    if (r.timestamp() != null) b.setTimestampMs(r.timestamp());
    if (converters.key != null) {
      byte[] k = converters.key.fromConnectData(r.topic(), r.keySchema(), r.key());
      if (k != null) b.setKey(ByteString.copyFrom(k));
    } else if (r.key() != null) {
      if (r.keySchema() != null) b.setKeySchema(mapping.schema(r.keySchema()));
      b.setStructuredKey(mapping.data(r.keySchema(), r.key()));
    }
    if (converters.value != null) {
      byte[] v = converters.value.fromConnectData(r.topic(), r.valueSchema(), r.value());
      if (v != null) b.setValue(ByteString.copyFrom(v));
    } else if (r.value() != null) {
      if (r.valueSchema() != null) b.setValueSchema(mapping.schema(r.valueSchema()));
      b.setStructuredValue(mapping.data(r.valueSchema(), r.value()));
    }
    for (Header h : r.headers()) {
      tributary.connector.v1.ConnectorOuterClass.Header.Builder hb = tributary.connector.v1.ConnectorOuterClass.Header.newBuilder().setKey(h.key());
      byte[] hv = HEADERS.fromConnectHeader(r.topic(), h.key(), h.schema(), h.value());
      if (hv != null) hb.setValue(ByteString.copyFrom(hv));
      b.addHeaders(hb);
    }
    b.setOffset(offsets.advance(r.sourcePartition(), r.sourceOffset()));
    return b.build();
  }

  private void drained() {
    ReadDrained.Builder d = ReadDrained.newBuilder().setRecords(sent);
    if (lastOffset != null) d.setLastOffset(lastOffset);
    out.onNext(ReadResponse.newBuilder().setDrained(d).build());
    log.info("partition {} drained after {} records", partitionId, sent);
  }

  /** Acks count records on this stream: commitRecord() each newly acked one, then commit() (at most every 500 ms). */
  private void ack(long records) {
    SourceTask t = task;
    if (t == null) return;
    ClassLoader before = Thread.currentThread().getContextClassLoader();
    Thread.currentThread().setContextClassLoader(plugin.loader);
    try {
      while (ackedCount < records) {
        SourceRecord r;
        synchronized (unacked) {
          r = unacked.pollFirst();
        }
        if (r == null) break;
        ackedCount++;
        // Tributary's ack does not carry the Kafka offset of each record: metadata is null,
        // which SourceTask.commitRecord documents for records that were not written as such.
        t.commitRecord(r, null);
      }
      long now = System.nanoTime();
      if (now - lastCommitNanos >= TimeUnit.MILLISECONDS.toNanos(500)) {
        lastCommitNanos = now;
        t.commit();
      }
    } catch (Throwable e) {
      fail(Failures.status("SourceTask.commitRecord()/commit() of " + plugin.connectorClass.getName() + " for partition " + partitionId + " threw", e));
    } finally {
      Thread.currentThread().setContextClassLoader(before);
    }
  }

  private SourceTaskContext context(Map<String, String> taskConfig) {
    OffsetStorageReader reader = new OffsetStorageReader() {
      @Override
      public <T> Map<String, Object> offset(Map<String, T> partition) {
        return offsets.offset(partition);
      }

      @Override
      public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
        Map<Map<String, T>, Map<String, Object>> result = new HashMap<>();
        for (Map<String, T> p : partitions) result.put(p, offsets.offset(p));
        return result;
      }
    };
    return new SourceTaskContext() {
      @Override
      public Map<String, String> configs() {
        return taskConfig;
      }

      @Override
      public OffsetStorageReader offsetStorageReader() {
        return reader;
      }

      @Override
      public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
        throw new UnsupportedOperationException("the Tributary bridge does not give plugins Kafka metrics (pluginMetrics()); Tributary's own metrics cover the stream partition");
      }

      @Override
      public TransactionContext transactionContext() {
        // null is Kafka Connect's answer when exactly-once source support is not enabled.
        return null;
      }
    };
  }

  /** Ends the response stream with {@code error} (once; later failures are only logged). */
  private void fail(io.grpc.StatusRuntimeException error) {
    synchronized (lock) {
      if (finished) {
        log.warn("partition {}: after the stream ended: {}", partitionId, error.getStatus().getDescription());
        return;
      }
      finished = true;
      lock.notifyAll();
      log.error("partition {} failed: {}", partitionId, error.getStatus().getDescription());
      try {
        out.onError(error);
      } catch (RuntimeException ignored) {
        // the call is already cancelled
      }
    }
  }

  private void closeTask() {
    SourceTask t = task;
    acks.shutdown();
    try {
      acks.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t != null) {
      try {
        if (ackedCount > 0) t.commit();
      } catch (Throwable e) {
        log.warn("partition {}: final SourceTask.commit() threw", partitionId, e);
      }
      try {
        t.stop();
      } catch (Throwable e) {
        log.warn("partition {}: SourceTask.stop() threw", partitionId, e);
      }
    }
    synchronized (lock) {
      if (!finished) {
        finished = true;
        try {
          out.onCompleted();
        } catch (RuntimeException ignored) {
          // cancelled
        }
      }
    }
    Thread self = thread;
    if (self != null) bridge.checkLeaks(self.getThreadGroup(), self, partitionId);
  }
}
