package dev.tributary.bridge;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.connect.storage.Converter;

/**
 * The optional Kafka Connect converters run inside the bridge ({@code bridge.key.converter},
 * {@code bridge.value.converter}, each configured from its {@code bridge.<key|value>.converter.*}
 * keys, as Kafka Connect configures {@code key.converter.*}). Unset: records travel in the
 * structured form and the worker's converters serialize them.
 */
final class Converters {
  final Converter key;
  final Converter value;

  private Converters(Converter key, Converter value) {
    this.key = key;
    this.value = value;
  }

  static Converters from(ConnectPlugin plugin, Map<String, String> config) {
    return new Converters(load(plugin, config, ConnectPlugin.KEY_CONVERTER, true), load(plugin, config, ConnectPlugin.VALUE_CONVERTER, false));
  }

  private static Converter load(ConnectPlugin plugin, Map<String, String> config, String key, boolean isKey) {
    String className = config.get(key);
    if (className == null || className.isBlank()) return null;
    return plugin.withLoader(() -> {
      Class<?> klass;
      try {
        klass = Class.forName(className.trim(), true, plugin.loader);
      } catch (ClassNotFoundException | LinkageError e) {
        throw new IllegalArgumentException(key + ": converter class " + className + " cannot be loaded (it must be in the connector's plugin directory or be one of connect-api's): " + e);
      }
      if (!Converter.class.isAssignableFrom(klass)) throw new IllegalArgumentException(key + ": " + className + " is not a org.apache.kafka.connect.storage.Converter");
      Converter c = (Converter) klass.getDeclaredConstructor().newInstance();
      Map<String, Object> props = new HashMap<>();
      String prefix = key + ".";
      for (Map.Entry<String, String> e : config.entrySet()) if (e.getKey().startsWith(prefix)) props.put(e.getKey().substring(prefix.length()), e.getValue());
      c.configure(props, isKey);
      return c;
    });
  }
}
