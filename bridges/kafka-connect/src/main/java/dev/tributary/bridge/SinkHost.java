package dev.tributary.bridge;

import com.google.protobuf.ByteString;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tributary.connector.v1.ConnectorOuterClass.Header;
import tributary.connector.v1.ConnectorOuterClass.Record;
import tributary.connector.v1.ConnectorOuterClass.WriteDurable;
import tributary.connector.v1.ConnectorOuterClass.WriteOpen;
import tributary.connector.v1.ConnectorOuterClass.WriteOpened;
import tributary.connector.v1.ConnectorOuterClass.WriteRequest;
import tributary.connector.v1.ConnectorOuterClass.WriteResponse;

/**
 * The one SinkTask of this connector on this worker (Kafka Connect runs one SinkTask per task
 * over many topic-partitions; Tributary gives this process one Write stream per topic-partition
 * the worker owns). Every call into the task is serialized under this object's lock, as a
 * SinkTask is single-threaded. open/close(partitions) follow the Write streams; flush asks
 * {@code preCommit()} and reports what it returns as durable.
 */
final class SinkHost {
  private static final Logger log = LoggerFactory.getLogger(SinkHost.class);
  private static final SimpleHeaderConverter HEADERS = new SimpleHeaderConverter();

  private final ConnectPlugin plugin;
  private final DataMapping mapping = new DataMapping();
  private SinkConnector connector;
  private SinkTask task;
  private Map<String, String> taskConfig;
  private Converters converters;
  private final Set<TopicPartition> assigned = new java.util.LinkedHashSet<>();
  /** Set while task.open() runs: offsets the task asked to rewind to (SinkTaskContext.offset). */
  private Map<TopicPartition, Long> rewinds;
  private long retryBackoffMs = 1_000;

  SinkHost(ConnectPlugin plugin) {
    this.plugin = plugin;
  }

  StreamObserver<WriteRequest> stream(StreamObserver<WriteResponse> out) {
    return new Stream((ServerCallStreamObserver<WriteResponse>) out);
  }

  synchronized void stop() {
    if (task == null) return;
    plugin.withLoader(() -> {
      try {
        task.stop();
      } catch (Throwable e) {
        log.warn("SinkTask.stop() threw", e);
      }
      try {
        connector.stop();
      } catch (Throwable e) {
        log.warn("SinkConnector.stop() threw", e);
      }
      return null;
    });
    task = null;
  }

  /** Starts the connector and its one task on first use, with the connector config of the first stream. */
  private void ensureStarted(Map<String, String> config) {
    if (task != null) return;
    converters = Converters.from(plugin, config);
    SinkConnector c = (SinkConnector) plugin.newConnector();
    c.initialize(new BridgeConnectorContext(plugin.connectorClass.getName()));
    c.start(config);
    List<Map<String, String>> configs = c.taskConfigs(1);
    if (configs == null || configs.isEmpty()) throw new IllegalStateException(plugin.connectorClass.getName() + ".taskConfigs(1) returned no task config");
    Map<String, String> tc = new LinkedHashMap<>(configs.get(0));
    // As Kafka Connect's worker does for sink tasks.
    for (String k : List.of(SinkTask.TOPICS_CONFIG, SinkTask.TOPICS_REGEX_CONFIG)) if (config.containsKey(k)) tc.put(k, config.get(k));
    SinkTask t;
    try {
      t = (SinkTask) c.taskClass().getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot create " + c.taskClass().getName() + ": " + e, e);
    }
    taskConfig = tc;
    t.initialize(new Context());
    t.start(tc);
    connector = c;
    task = t;
    log.info("sink task {} started", t.getClass().getName());
  }

  private final class Stream implements StreamObserver<WriteRequest> {
    private final ServerCallStreamObserver<WriteResponse> out;
    private TopicPartition tp;
    private long lastReceived = -1;
    private long lastDurable = -1;
    private boolean done;

    Stream(ServerCallStreamObserver<WriteResponse> out) {
      this.out = out;
    }

    @Override
    public void onNext(WriteRequest req) {
      if (done) return;
      try {
        switch (req.getKindCase()) {
          case OPEN -> open(req.getOpen());
          case BATCH -> put(req.getBatch().getRecordsList());
          case FLUSH -> flush();
          default -> {}
        }
      } catch (StatusRuntimeException e) {
        fail(e);
      } catch (Throwable e) {
        fail(Failures.status(plugin.connectorClass.getName() + " sink task for " + (tp == null ? "an unopened partition" : tp.toString()) + ": " + req.getKindCase().name().toLowerCase() + " failed", e));
      }
    }

    private void open(WriteOpen open) {
      if (tp != null) throw Failures.invalid("a second open on one Write stream");
      if (!open.getPartition().hasTopic() || !open.getPartition().hasKafkaPartition()) throw Failures.invalid("WriteOpen.partition needs topic and kafka_partition");
      TopicPartition p = new TopicPartition(open.getPartition().getTopic(), open.getPartition().getKafkaPartition());
      Long rewind;
      synchronized (SinkHost.this) {
        plugin.withLoader(() -> {
          ensureStarted(ConnectPlugin.connectConfig(open.getConnector()));
          return null;
        });
        rewinds = new HashMap<>();
        try {
          plugin.withLoader(() -> {
            task.open(List.of(p));
            return null;
          });
          rewind = rewinds.get(p);
        } finally {
          rewinds = null;
        }
        assigned.add(p);
      }
      tp = p;
      WriteOpened.Builder opened = WriteOpened.newBuilder();
      // A task that rewinds in open() (it stores offsets with its data) resumes there.
      if (rewind != null) opened.setResumeAfterOffset(rewind - 1);
      if (open.hasCommittedOffset()) lastDurable = open.getCommittedOffset();
      out.onNext(WriteResponse.newBuilder().setOpened(opened).build());
    }

    private void put(List<Record> records) throws InterruptedException {
      if (tp == null) throw Failures.invalid("a batch before open");
      if (records.isEmpty()) return;
      List<SinkRecord> batch = new ArrayList<>(records.size());
      synchronized (SinkHost.this) {
        for (Record r : records) batch.add(sinkRecord(r));
        while (true) {
          try {
            plugin.withLoader(() -> {
              task.put(batch);
              return null;
            });
            break;
          } catch (RetriableException e) {
            // Kafka Connect redelivers the same batch after the task's timeout(); so do we.
            log.warn("{}: SinkTask.put() asked for a retry in {} ms: {}", tp, retryBackoffMs, e.toString());
            SinkHost.this.wait(retryBackoffMs);
            if (out.isCancelled()) return;
          }
        }
      }
      lastReceived = records.get(records.size() - 1).getKafkaOffset();
    }

    private SinkRecord sinkRecord(Record r) {
      SchemaAndValue key = side(r.hasKeySchema() ? r.getKeySchema() : null, r.hasStructuredKey() ? r.getStructuredKey() : null, r.hasKey() ? r.getKey() : null, true);
      SchemaAndValue value = side(r.hasValueSchema() ? r.getValueSchema() : null, r.hasStructuredValue() ? r.getStructuredValue() : null, r.hasValue() ? r.getValue() : null, false);
      ConnectHeaders headers = new ConnectHeaders();
      for (Header h : r.getHeadersList()) {
        SchemaAndValue hv = HEADERS.toConnectHeader(tp.topic(), h.getKey(), h.hasValue() ? h.getValue().toByteArray() : null);
        headers.add(h.getKey(), hv);
      }
      Long ts = r.hasTimestampMs() ? r.getTimestampMs() : null;
      return new SinkRecord(tp.topic(), tp.partition(), key.schema(), key.value(), value.schema(), value.value(), r.getKafkaOffset(), ts,
          ts == null ? TimestampType.NO_TIMESTAMP_TYPE : TimestampType.CREATE_TIME, headers);
    }

    private SchemaAndValue side(tributary.connector.v1.ConnectorOuterClass.Schema schema, tributary.connector.v1.ConnectorOuterClass.Data data, ByteString bytes, boolean isKey) {
      if (data != null) {
        Schema s = schema == null ? null : mapping.connectSchema(schema);
        return new SchemaAndValue(s, mapping.value(s, data));
      }
      org.apache.kafka.connect.storage.Converter c = isKey ? converters.key : converters.value;
      if (c != null) return c.toConnectData(tp.topic(), bytes == null ? null : bytes.toByteArray());
      if (bytes == null) return SchemaAndValue.NULL;
      return new SchemaAndValue(Schema.OPTIONAL_BYTES_SCHEMA, bytes.toByteArray());
    }

    private void flush() {
      if (tp == null) throw Failures.invalid("a flush before open");
      if (lastReceived <= lastDurable) return;
      Map<TopicPartition, OffsetAndMetadata> current = Map.of(tp, new OffsetAndMetadata(lastReceived + 1));
      Map<TopicPartition, OffsetAndMetadata> committable;
      synchronized (SinkHost.this) {
        committable = plugin.withLoader(() -> task.preCommit(new HashMap<>(current)));
      }
      OffsetAndMetadata o = committable == null ? null : committable.get(tp);
      if (o == null) return;
      long through = Math.min(o.offset() - 1, lastReceived);
      if (through <= lastDurable) return;
      lastDurable = through;
      out.onNext(WriteResponse.newBuilder().setDurable(WriteDurable.newBuilder().setThroughOffset(through)).build());
    }

    @Override
    public void onError(Throwable t) {
      close();
    }

    @Override
    public void onCompleted() {
      close();
      if (!done) {
        done = true;
        out.onCompleted();
      }
    }

    private void fail(StatusRuntimeException e) {
      log.error("{}: {}", tp, e.getStatus().getDescription());
      close();
      if (!done) {
        done = true;
        out.onError(e);
      }
    }

    private void close() {
      if (tp == null) return;
      TopicPartition p = tp;
      tp = null;
      synchronized (SinkHost.this) {
        assigned.remove(p);
        if (task == null) return;
        try {
          plugin.withLoader(() -> {
            task.close(List.of(p));
            return null;
          });
        } catch (Throwable e) {
          log.warn("{}: SinkTask.close() threw", p, e);
        }
      }
    }
  }

  /** What a SinkTask may ask of the runtime; what the bridge cannot honour fails clearly. */
  private final class Context implements SinkTaskContext {
    @Override
    public Map<String, String> configs() {
      return taskConfig;
    }

    @Override
    public void offset(Map<TopicPartition, Long> offsets) {
      if (rewinds == null) {
        throw new UnsupportedOperationException("the Tributary bridge honours SinkTaskContext.offset() only inside SinkTask.open() (it becomes the partition's resume offset); "
            + "rewinding a running partition is not supported");
      }
      rewinds.putAll(offsets);
    }

    @Override
    public void offset(TopicPartition tp, long offset) {
      offset(Map.of(tp, offset));
    }

    @Override
    public void timeout(long timeoutMs) {
      retryBackoffMs = Math.max(0, timeoutMs);
    }

    @Override
    public Set<TopicPartition> assignment() {
      synchronized (SinkHost.this) {
        return Set.copyOf(assigned);
      }
    }

    @Override
    public void pause(TopicPartition... partitions) {
      throw new UnsupportedOperationException("the Tributary bridge cannot pause topic-partitions (SinkTaskContext.pause); the worker's credits pace the sink");
    }

    @Override
    public void resume(TopicPartition... partitions) {
      throw new UnsupportedOperationException("the Tributary bridge cannot pause or resume topic-partitions (SinkTaskContext.resume)");
    }

    @Override
    public void requestCommit() {
      // A hint: the worker flushes on its own interval (offset.flush.interval), which is when preCommit runs.
      log.debug("SinkTaskContext.requestCommit(): the next flush comes on the worker's flush interval");
    }

      @Override
    public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
      throw new UnsupportedOperationException("the Tributary bridge does not give plugins Kafka metrics (pluginMetrics()); Tributary's own metrics cover the stream partition");
    }

    @Override
    public ErrantRecordReporter errantRecordReporter() {
      // null is Kafka Connect's answer when no dead-letter queue is configured for the task.
      return null;
    }
  }
}
