/**
 * Starts the OpenTelemetry SDK where the standard OTEL_* variables ask for
 * traces. Off by default and then free: the SDK is imported only when on, and
 * the instrumentation in libs and services talks to @opentelemetry/api alone,
 * whose no-op tracer is what runs without it.
 */
import type { Logger } from '../log.js';
import type { ServiceStarter } from '../service/runtime.js';

/** Traces are wanted when an exporter or an OTLP endpoint is named and OTEL_SDK_DISABLED is not true. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Telemetry {
  /** Flushes spans not yet exported. */
  shutdown(): Promise<void>;
}

/** Registers the SDK (tracer provider, context manager, W3C propagator) configured by OTEL_*, or nothing when traces are not asked for. */
export async function startTelemetry(service: string, logger: Logger): Promise<Telemetry> {
  const env = process.env;
  if (!tracingRequested(env)) return { shutdown: async () => {} };
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: `aide-${service}` }),
    // Metrics are scraped from /metrics and logs are pino's: the SDK exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  logger.info({ exporter: env.OTEL_TRACES_EXPORTER || 'otlp', endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing on');
  return { shutdown: () => sdk.shutdown() };
}

/** A service starter that starts telemetry first and flushes it after the service has drained. */
export function withTelemetry(name: string, start: ServiceStarter): ServiceStarter {
  return async (config, logger) => {
    const telemetry = await startTelemetry(name, logger);
    const service = await start(config, logger);
    return {
      ...service,
      async shutdown(deadlineMs) {
        try {
          await service.shutdown(deadlineMs);
        } finally {
          await telemetry.shutdown();
        }
      },
    };
  };
}
