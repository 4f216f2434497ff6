export { PonteMetrics, type PonteMetricsOptions, type ProviderCallKind, type RateLimitedChannel, type RunCounts } from './ponte-metrics.js';
export { checkReadiness, type Readiness, type ReadinessDeps } from './readiness.js';
export { observabilityRoutes } from './routes.js';
