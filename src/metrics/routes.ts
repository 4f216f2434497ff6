// The observability routes of the HTTP server `ponte run` starts: /metrics (Prometheus) and
// /readyz. /healthz (alive) stays in src/app/server.ts: it must not depend on the store.
import type { Handler } from '../server/http-server.js';
import type { PonteMetrics } from './ponte-metrics.js';
import { checkReadiness, type ReadinessDeps } from './readiness.js';

export function observabilityRoutes(metrics: PonteMetrics, readiness: ReadinessDeps): Record<string, Handler> {
  return {
    'GET /metrics': async () => ({ status: 200, body: await metrics.metrics(), contentType: metrics.contentType }),
    'GET /readyz': async () => {
      const r = await checkReadiness(readiness);
      return { status: r.ready ? 200 : 503, body: { status: r.ready ? 'ready' : 'not ready', checks: r.checks, problems: r.problems } };
    },
  };
}
