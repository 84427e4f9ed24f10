package dev.tributary.bridge;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Connector;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.source.SourceConnector;
import tributary.connector.v1.ConnectorOuterClass.ConfigKey;
import tributary.connector.v1.ConnectorOuterClass.ConfigType;
import tributary.connector.v1.ConnectorOuterClass.ConnectorKind;

/**
 * The one connector class this bridge process serves, loaded from its plugin directory in its
 * own {@link PluginLoader}, and what the bridge derives from it: its kind, its config spec, and
 * the mapping of its task configs onto stream-partition attributes.
 */
final class ConnectPlugin {
  /** Bridge keys (read by the bridge, never passed on as the connector's own). */
  static final String START_TIMEOUT = "bridge.start.timeout.ms";
  static final String KEY_CONVERTER = "bridge.key.converter";
  static final String VALUE_CONVERTER = "bridge.value.converter";
  static final String TASKS_MAX = "tasks.max";
  static final String ATTR_TASK = "kafka.connect.task";
  static final String ATTR_CONFIG = "kafka.connect.task.config.";
  static final String ATTR_ABSENT = "kafka.connect.task.config.absent";

  final PluginLoader loader;
  final Class<? extends Connector> connectorClass;
  final ConnectorKind kind;

  private ConnectPlugin(PluginLoader loader, Class<? extends Connector> connectorClass) {
    this.loader = loader;
    this.connectorClass = connectorClass;
    this.kind = SourceConnector.class.isAssignableFrom(connectorClass) ? ConnectorKind.CONNECTOR_KIND_SOURCE : ConnectorKind.CONNECTOR_KIND_SINK;
  }

  /**
   * Loads {@code className} from {@code dir}; without a class name, the single connector the
   * directory's jars declare (ServiceLoader manifests, as Kafka Connect's plugin discovery).
   */
  static ConnectPlugin load(Path dir, String className) {
    PluginLoader loader = PluginLoader.forDirectory(dir, ConnectPlugin.class.getClassLoader());
    if (className == null) {
      List<String> found = new ArrayList<>();
      ClassLoader before = Thread.currentThread().getContextClassLoader();
      Thread.currentThread().setContextClassLoader(loader);
      try {
        for (Class<? extends Connector> base : List.of(SourceConnector.class, SinkConnector.class)) {
          for (ServiceLoader.Provider<? extends Connector> p : ServiceLoader.load(base, loader).stream().toList()) {
            if (p.type().getClassLoader() == loader) found.add(p.type().getName());
          }
        }
      } finally {
        Thread.currentThread().setContextClassLoader(before);
      }
      if (found.size() != 1) {
        throw new IllegalArgumentException("plugin directory " + dir + " declares " + (found.isEmpty() ? "no connector" : "several connectors " + found)
            + "; name the one to run with --connector-class");
      }
      className = found.get(0);
    }
    Class<?> klass;
    try {
      klass = Class.forName(className, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException("connector class " + className + " cannot be loaded from " + dir + ": " + e, e);
    }
    if (!SourceConnector.class.isAssignableFrom(klass) && !SinkConnector.class.isAssignableFrom(klass)) {
      throw new IllegalArgumentException(className + " is neither a SourceConnector nor a SinkConnector");
    }
    @SuppressWarnings("unchecked")
    Class<? extends Connector> connector = (Class<? extends Connector>) klass;
    return new ConnectPlugin(loader, connector);
  }

  Connector newConnector() {
    return withLoader(() -> connectorClass.getDeclaredConstructor().newInstance());
  }

  /** Runs {@code call} with the connector's class loader as the thread's context loader (Kafka Connect's LoaderSwap). */
  <T> T withLoader(Callable<T> call) {
    Thread t = Thread.currentThread();
    ClassLoader before = t.getContextClassLoader();
    t.setContextClassLoader(loader);
    try {
      return call.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      t.setContextClassLoader(before);
    }
  }

  /**
   * The connector config as Kafka Connect passes it: with {@code name} set to the connector's
   * name (Kafka Connect's ConnectorConfig always carries it; some connectors, MirrorMaker's,
   * require it in their own ConfigDef).
   */
  static Map<String, String> connectConfig(tributary.connector.v1.ConnectorOuterClass.Connector connector) {
    Map<String, String> config = new LinkedHashMap<>(connector.getConfigMap());
    if (!connector.getName().isEmpty()) config.putIfAbsent("name", connector.getName());
    return config;
  }

  static int tasksMax(Map<String, String> config) {
    String raw = config.get(TASKS_MAX);
    if (raw == null || raw.isBlank()) return 1;
    try {
      int n = Integer.parseInt(raw.trim());
      if (n >= 1) return n;
    } catch (NumberFormatException ignored) {
      // fall through
    }
    throw new IllegalArgumentException(TASKS_MAX + " must be a positive integer, got \"" + raw + "\"");
  }

  static long startTimeoutMs(Map<String, String> config) {
    String raw = config.get(START_TIMEOUT);
    if (raw == null || raw.isBlank()) return 60_000;
    try {
      long n = Long.parseLong(raw.trim());
      if (n > 0) return n;
    } catch (NumberFormatException ignored) {
      // fall through
    }
    throw new IllegalArgumentException(START_TIMEOUT + " must be a positive number of milliseconds, got \"" + raw + "\"");
  }

  // ---- config spec ----

  /** The connector's ConfigDef as protocol keys, then the bridge's own. */
  static List<ConfigKey> configKeys(ConfigDef def) {
    List<ConfigKey> out = new ArrayList<>();
    for (ConfigDef.ConfigKey k : def.configKeys().values()) {
      // "name" is the connector's name, which the bridge fills in (connectConfig).
      if (k.internalConfig || k.name.equals("name")) continue;
      ConfigKey.Builder b = ConfigKey.newBuilder().setName(k.name).setType(type(k)).setSecret(k.type == ConfigDef.Type.PASSWORD);
      if (k.documentation != null) b.setDocumentation(k.documentation);
      if (k.group != null) b.setGroup(k.group);
      if (k.defaultValue == ConfigDef.NO_DEFAULT_VALUE) {
        b.setRequired(true);
      } else if (k.defaultValue != null) {
        b.setDefaultValue(ConfigDef.convertToString(k.defaultValue, k.type));
      }
      out.add(b.build());
    }
    String group = "Kafka Connect bridge";
    out.add(ConfigKey.newBuilder().setName(START_TIMEOUT).setType(ConfigType.CONFIG_TYPE_DURATION_MS).setDefaultValue("60000").setGroup(group)
        .setDocumentation("How long the connector's and each task's start() may take; past it the stream partition fails with the stuck thread's stack trace.").build());
    out.add(ConfigKey.newBuilder().setName(KEY_CONVERTER).setType(ConfigType.CONFIG_TYPE_STRING).setGroup(group)
        .setDocumentation("A Kafka Connect Converter class run inside the bridge for keys (e.g. org.apache.kafka.connect.storage.StringConverter); "
            + "its own settings go under bridge.key.converter.<key>. Unset: keys travel in the structured form and Tributary's converter serializes them.").build());
    out.add(ConfigKey.newBuilder().setName(VALUE_CONVERTER).setType(ConfigType.CONFIG_TYPE_STRING).setGroup(group)
        .setDocumentation("As bridge.key.converter, for values.").build());
    return out;
  }

  private static ConfigType type(ConfigDef.ConfigKey k) {
    return switch (k.type) {
      case BOOLEAN -> ConfigType.CONFIG_TYPE_BOOLEAN;
      case INT, SHORT -> ConfigType.CONFIG_TYPE_INT;
      // Tributary's INT is within +-2^53; a LONG default beyond that stays a string (the connector checks it).
      case LONG -> k.defaultValue instanceof Long l && Math.abs(l) > (1L << 53) ? ConfigType.CONFIG_TYPE_STRING : ConfigType.CONFIG_TYPE_INT;
      case DOUBLE -> ConfigType.CONFIG_TYPE_DOUBLE;
      case LIST -> ConfigType.CONFIG_TYPE_LIST;
      default -> ConfigType.CONFIG_TYPE_STRING; // STRING, CLASS, PASSWORD
    };
  }

  // ---- task configs <-> partition attributes ----

  /**
   * A task config as partition attributes: only what differs from the connector config (so
   * secrets the connector passes through unchanged are not copied into attributes operators see).
   */
  static Map<String, String> taskAttributes(int index, Map<String, String> connectorConfig, Map<String, String> taskConfig) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put(ATTR_TASK, String.valueOf(index));
    for (Map.Entry<String, String> e : taskConfig.entrySet()) {
      if (!Objects.equals(connectorConfig.get(e.getKey()), e.getValue()) || !connectorConfig.containsKey(e.getKey())) {
        out.put(ATTR_CONFIG + e.getKey(), e.getValue() == null ? "" : e.getValue());
      }
    }
    List<String> absent = new ArrayList<>();
    for (String k : connectorConfig.keySet()) if (!taskConfig.containsKey(k)) absent.add(k);
    if (!absent.isEmpty()) out.put(ATTR_ABSENT, String.join("\n", absent));
    return out;
  }

  /** The exact task config back from the connector config and the partition's attributes. */
  static Map<String, String> taskConfig(Map<String, String> connectorConfig, Map<String, String> attributes) {
    if (!attributes.containsKey(ATTR_TASK)) {
      throw new IllegalArgumentException("stream partition has no " + ATTR_TASK + " attribute: it was not listed by this bridge's WatchPartitions");
    }
    Map<String, String> out = new LinkedHashMap<>(connectorConfig);
    String absent = attributes.get(ATTR_ABSENT);
    if (absent != null) for (String k : absent.split("\n")) out.remove(k);
    for (Map.Entry<String, String> e : attributes.entrySet()) {
      if (e.getKey().startsWith(ATTR_CONFIG) && !e.getKey().equals(ATTR_ABSENT)) out.put(e.getKey().substring(ATTR_CONFIG.length()), e.getValue());
    }
    return out;
  }
}
