export { createMetrics, type MetricsCollector, type MetricsOptions, type MetricsTarget } from './collector.ts';
