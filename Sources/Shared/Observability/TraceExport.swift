import Foundation
import JunctionCore
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// The process's trace export: swift-otel's tracer with its OTLP/HTTP exporter, when
/// `JUNCTION_OTEL_ENDPOINT` names a collector; nothing at all otherwise.
///
/// Only traces go this way: metrics stay on `/metrics` (Prometheus) and logs on standard output.
/// The collector's address is the OTLP/HTTP base URL (`http://otel-collector:4318`), to which
/// `/v1/traces` is added (a URL already ending in `/v1/traces` is used as it is). swift-otel's
/// own `OTEL_*` variables still apply on top: `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the
/// default, or `http/json`), `OTEL_EXPORTER_OTLP_HEADERS` (a collector's API key),
/// `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_BSP_SCHEDULE_DELAY` and the rest of the batch processor's.
public enum TraceExport {
    public static let variable = "JUNCTION_OTEL_ENDPOINT"
    private static let bootstrapped = Mutex(false)

    /// The traces endpoint `JUNCTION_OTEL_ENDPOINT` names, or nil when it is unset.
    public static func endpoint(from environment: EnvironmentVariables) throws(ConfigurationError) -> String? {
        guard let raw = environment.values[variable], !raw.isEmpty else { return nil }
        return try environment.parse(variable, default: raw, example: "http://otel-collector:4318", sensitive: true) { (text: String) throws(InvalidValue) -> String in
            guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
            else { throw InvalidValue("not an http or https URL with a host (and no query)") }
            guard url.user == nil, url.password == nil else {
                throw InvalidValue("credentials do not go in the URL; set OTEL_EXPORTER_OTLP_HEADERS instead")
            }
            let base = text.hasSuffix("/") ? String(text.dropLast()) : text
            return base.hasSuffix("/v1/traces") ? base : base + "/v1/traces"
        }
    }

    /// Installs the tracer when `JUNCTION_OTEL_ENDPOINT` is set and answers the service that
    /// exports its spans in batches (run it in the process's service group, first, so it stops
    /// last and flushes what the others recorded); nil, and no tracer, when it is unset.
    public static func bootstrap(process: String, environment: EnvironmentVariables, logger: Logger) throws -> (any Service)? {
        guard let endpoint = try endpoint(from: environment) else {
            logger.info("no trace export: set \(variable) to send spans to an OpenTelemetry collector")
            return nil
        }
        return try bootstrapped.withLock { done -> (any Service)? in
            guard !done else { return nil }
            var configuration = OTel.Configuration.default
            configuration.serviceName = process
            configuration.logs.enabled = false
            configuration.metrics.enabled = false
            configuration.traces.exporter = .otlp
            configuration.traces.otlpExporter.endpoint = endpoint
            configuration.traces.otlpExporter.protocol = .httpProtobuf
            configuration.diagnosticLogger = .custom(logger)
            configuration.diagnosticLogLevel = .warning
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            Traces.markEnabled()
            done = true
            logger.info("exporting traces over OTLP/HTTP", metadata: ["endpoint": .string(endpoint)])
            return backend.service
        }
    }

    /// ``bootstrap(process:environment:logger:)`` for a process's `main()`: the services to run
    /// first in its group (none when traces are off). A malformed `JUNCTION_OTEL_ENDPOINT` stops
    /// the process as every configuration error does; an exporter that cannot be made stops it
    /// with the reason.
    public static func services(process: String, environment: EnvironmentVariables, logger: Logger) -> [any Service] {
        _ = ProcessBootstrap.settings(process: process) { () throws(ConfigurationError) in try endpoint(from: environment) }
        let service = ProcessBootstrap.required("the trace exporter", logger: logger) {
            try bootstrap(process: process, environment: environment, logger: logger)
        }
        return service.map { [$0] } ?? []
    }
}
