package dev.tributary.bridge.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/**
 * A test connector for the bridge's hostile-plugin tests (not shipped): tasks.max tasks, each
 * emitting "t<task>-<seq>" with source offset {seq}; the tasks named in hostile.tasks behave
 * as hostile.mode says: hang-start (start() never returns), throw-start (start() throws),
 * leak-threads (start() starts hostile.threads threads that never end).
 */
public class HostileSourceConnector extends SourceConnector {
  private Map<String, String> props;

  @Override
  public void start(Map<String, String> props) {
    this.props = props;
  }

  @Override
  public Class<? extends Task> taskClass() {
    return HostileTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    List<Map<String, String>> out = new ArrayList<>();
    for (int i = 0; i < maxTasks; i++) {
      Map<String, String> c = new HashMap<>(props);
      c.put("task.index", String.valueOf(i));
      out.add(c);
    }
    return out;
  }

  @Override
  public void stop() {}

  @Override
  public ConfigDef config() {
    return new ConfigDef()
        .define("topic", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "target topic")
        .define("hostile.mode", ConfigDef.Type.STRING, "none", ConfigDef.Importance.LOW, "hang-start, throw-start or leak-threads")
        .define("hostile.tasks", ConfigDef.Type.LIST, "", ConfigDef.Importance.LOW, "task indexes that misbehave")
        .define("hostile.threads", ConfigDef.Type.INT, 4, ConfigDef.Importance.LOW, "threads leaked per start");
  }

  @Override
  public String version() {
    return "1.0-test";
  }

  public static class HostileTask extends SourceTask {
    private String topic;
    private int index;
    private long seq;

    @Override
    public String version() {
      return "1.0-test";
    }

    @Override
    public void start(Map<String, String> props) {
      topic = props.get("topic");
      index = Integer.parseInt(props.get("task.index"));
      Map<String, Object> offset = context.offsetStorageReader().offset(Map.of("task", index));
      seq = offset == null ? 0 : ((Number) offset.get("seq")).longValue() + 1;
      boolean hostile = Arrays.asList(props.getOrDefault("hostile.tasks", "").split(",")).contains(String.valueOf(index));
      if (!hostile) return;
      switch (props.getOrDefault("hostile.mode", "none")) {
        case "hang-start" -> hangHere();
        case "throw-start" -> throw new IllegalStateException("HostileTask " + index + " refuses to start");
        case "leak-threads" -> {
          int n = Integer.parseInt(props.getOrDefault("hostile.threads", "4"));
          for (int i = 0; i < n; i++) {
            Thread t = new Thread(HostileTask::sleepForever, "hostile-leak-" + index + "-" + i);
            t.start();
          }
        }
        default -> {}
      }
    }

    private static void hangHere() {
      Object never = new Object();
      synchronized (never) {
        while (true) {
          try {
            never.wait();
          } catch (InterruptedException e) {
            // ignores cancellation, as a hostile connector would
          }
        }
      }
    }

    private static void sleepForever() {
      while (true) {
        try {
          Thread.sleep(60_000);
        } catch (InterruptedException e) {
          // ignores interrupts
        }
      }
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
      Thread.sleep(5);
      List<SourceRecord> out = new ArrayList<>();
      for (int i = 0; i < 100; i++, seq++) {
        out.add(new SourceRecord(Map.of("task", index), Map.of("seq", seq), topic, null, Schema.STRING_SCHEMA, "t" + index + "-" + seq));
      }
      return out;
    }

    @Override
    public void stop() {}
  }
}
