/**
 * Observability of a worker: Prometheus metrics (the narrow WorkerMetrics interface the data and
 * control planes call, and its prom-client implementation), readiness (WorkerHealth), and the
 * HTTP server that serves them next to the REST API.
 */
export { PrometheusMetrics, noopMetrics, type WorkerMetrics, type WorkerStateView, type PartitionView, type PrometheusMetricsOptions, type RecordTotals } from './metrics.js';
export { WorkerHealth, type HealthReporter, type HealthCondition, type HealthStatus } from './health.js';
export { HttpServer, type HttpServerOptions, type RouteRegistration } from './http-server.js';
export { observeLeadership } from './leadership.js';
