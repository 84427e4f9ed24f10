package dev.tributary.bridge;

import org.apache.kafka.connect.connector.ConnectorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A ConnectorContext whose calls reach the WatchPartitions stream that runs the connector (or are logged by a sink). */
class BridgeConnectorContext implements ConnectorContext {
  private static final Logger log = LoggerFactory.getLogger(BridgeConnectorContext.class);
  private final String connectorClass;

  BridgeConnectorContext(String connectorClass) {
    this.connectorClass = connectorClass;
  }

  @Override
  public void requestTaskReconfiguration() {
    // A sink's partitions are its topics' partitions: there is nothing to reconfigure.
    log.info("{} asked for a task reconfiguration; a sink's partitions follow its topics, so nothing changes", connectorClass);
  }

  @Override
  public void raiseError(Exception e) {
    log.error("{} raised an error", connectorClass, e);
  }

  @Override
  public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
    throw new UnsupportedOperationException("the Tributary bridge does not give plugins Kafka metrics (pluginMetrics()); Tributary's own metrics cover the stream partition");
  }
}
