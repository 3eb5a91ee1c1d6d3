import Foundation
import Hummingbird
import JunctionCore
import Metrics
import Prometheus
import Synchronization

/// The registry a process's metrics are recorded into (swift-prometheus's).
public typealias MetricsRegistry = PrometheusCollectorRegistry

/// The process's metrics backend: swift-metrics recorded into one Prometheus registry, which
/// `GET /metrics` writes out in the text exposition format (version 0.0.4).
public enum MetricsExport {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with the Prometheus backend, once per process; later calls answer
    /// the same registry. Called first thing by each process's `main()`, before any metric is
    /// recorded (a handle made earlier would record nowhere).
    public static func bootstrap() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: made)
            // From half a millisecond (a webhook's answer) to a minute (a sync page, a long job).
            factory.defaultDurationHistogramBuckets = [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
                .seconds(5), .seconds(10), .seconds(30), .seconds(60),
            ]
            // Hummingbird names its metrics the OpenTelemetry way (`http.server.request.duration`):
            // Prometheus allows only letters, digits, `_` and `:`.
            factory.nameAndLabelSanitizer = { name, labels in
                (sanitized(name), labels.map { (sanitized($0.0), $0.1) })
            }
            MetricsSystem.bootstrap(factory)
            registry = made
            return made
        }
    }

    static func sanitized(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == ":") ? scalar : "_"
        }))
    }

    /// `GET /metrics` on `router`: the registry in Prometheus's text format.
    public static func register(_ registry: PrometheusCollectorRegistry, on router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
