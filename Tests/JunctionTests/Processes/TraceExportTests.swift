import Foundation
import Hummingbird
import JunctionCore
import JunctionObservability
import Synchronization
import Testing

/// A span as an OpenTelemetry collector receives it: read off the OTLP/HTTP protobuf wire
/// format the processes send (`opentelemetry/proto/trace/v1/trace.proto`), by our own small reader.
struct ReceivedSpan: Sendable, CustomStringConvertible {
    var service: String
    var traceID: String
    var spanID: String
    var parentSpanID: String
    var name: String
    /// 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    var kind: Int
    var attributes: [String: String]
    /// 0 unset, 1 ok, 2 error.
    var status: Int

    var description: String { "\(service) \(name) kind=\(kind) trace=\(traceID) span=\(spanID) parent=\(parentSpanID) \(attributes)" }
}

/// Reads protobuf's wire format: enough of it for OTLP's trace export request.
struct ProtobufReader {
    enum Field {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed(UInt64)
    }

    static func fields(_ bytes: [UInt8]) throws -> [(number: Int, value: Field)] {
        var fields: [(Int, Field)] = []
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw StackError("truncated varint") }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func fixed(_ count: Int) throws -> UInt64 {
            guard index + count <= bytes.count else { throw StackError("truncated fixed field") }
            var value: UInt64 = 0
            for offset in 0..<count { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += count
            return value
        }
        while index < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed(try fixed(8))))
            case 2:
                let length = Int(try varint())
                guard length >= 0, index + length <= bytes.count else { throw StackError("truncated length-delimited field") }
                fields.append((number, .bytes(Array(bytes[index..<(index + length)]))))
                index += length
            case 5: fields.append((number, .fixed(try fixed(4))))
            default: throw StackError("unsupported wire type \(key & 7)")
            }
        }
        return fields
    }

    static func messages(_ fields: [(number: Int, value: Field)], _ number: Int) -> [[UInt8]] {
        fields.compactMap { field in
            guard field.number == number, case .bytes(let bytes) = field.value else { return nil }
            return bytes
        }
    }

    static func varint(_ fields: [(number: Int, value: Field)], _ number: Int) -> UInt64 {
        for field in fields where field.number == number {
            if case .varint(let value) = field.value { return value }
        }
        return 0
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// `KeyValue`s (key 1, `AnyValue` 2: string 1, bool 2, int 3).
    static func attributes(_ encoded: [[UInt8]]) throws -> [String: String] {
        var attributes: [String: String] = [:]
        for pair in encoded {
            let fields = try Self.fields(pair)
            guard let key = messages(fields, 1).first.map({ String(decoding: $0, as: UTF8.self) }), let value = messages(fields, 2).first else { continue }
            let any = try Self.fields(value)
            if let text = messages(any, 1).first {
                attributes[key] = String(decoding: text, as: UTF8.self)
            } else if let field = any.first {
                switch field.value {
                case .varint(let number): attributes[key] = field.number == 2 ? (number == 0 ? "false" : "true") : String(Int64(bitPattern: number))
                default: attributes[key] = "?"
                }
            }
        }
        return attributes
    }

    /// The spans of an `ExportTraceServiceRequest`.
    static func spans(ofExport body: [UInt8]) throws -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        for resourceSpans in messages(try fields(body), 1) {
            let resourceFields = try fields(resourceSpans)
            let resource = try messages(resourceFields, 1).first.map { try attributes(messages(try fields($0), 1)) } ?? [:]
            for scopeSpans in messages(resourceFields, 2) {
                for span in messages(try fields(scopeSpans), 2) {
                    let spanFields = try fields(span)
                    let status = try messages(spanFields, 15).first.map { varint(try fields($0), 3) } ?? 0
                    spans.append(ReceivedSpan(
                        service: resource["service.name"] ?? "", traceID: hex(messages(spanFields, 1).first ?? []),
                        spanID: hex(messages(spanFields, 2).first ?? []), parentSpanID: hex(messages(spanFields, 4).first ?? []),
                        name: String(decoding: messages(spanFields, 5).first ?? [], as: UTF8.self), kind: Int(varint(spanFields, 6)),
                        attributes: try attributes(messages(spanFields, 9)), status: Int(status)))
                }
            }
        }
        return spans
    }
}

/// An OpenTelemetry collector's OTLP/HTTP traces endpoint, on loopback: it keeps what it receives.
final class TraceCollector: Sendable {
    private let received = Mutex<[ReceivedSpan]>([])
    private let unreadable = Mutex<[String]>([])

    var spans: [ReceivedSpan] { received.withLock { $0 } }
    var problems: [String] { unreadable.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 16 << 20))
            guard request.headers[.contentType] == "application/x-protobuf" else {
                self.unreadable.withLock { $0.append("content type \(request.headers[.contentType] ?? "none")") }
                return Response(status: .unsupportedMediaType)
            }
            do {
                let spans = try ProtobufReader.spans(ofExport: body)
                self.received.withLock { $0 += spans }
            } catch {
                self.unreadable.withLock { $0.append("\(error)") }
                return Response(status: .badRequest)
            }
            // An empty ExportTraceServiceResponse: full success.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        return router
    }
}

@Suite(.serialized) struct TraceExportTests {
    @Test func theEndpointIsTheCollectorsBaseURLAndAMalformedOneIsRefusedByName() throws {
        func endpoint(_ value: String) throws(ConfigurationError) -> String? {
            try TraceExport.endpoint(from: EnvironmentVariables(["JUNCTION_OTEL_ENDPOINT": value]))
        }
        #expect(try TraceExport.endpoint(from: EnvironmentVariables([:])) == nil, "unset: no export")
        #expect(try endpoint("http://collector:4318") == "http://collector:4318/v1/traces")
        #expect(try endpoint("https://collector.example/otlp/") == "https://collector.example/otlp/v1/traces")
        #expect(try endpoint("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces", "a traces URL is used as it is")
        for bad in ["collector:4318", "ftp://collector", "http://", "http://collector:4318/?key=1"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try endpoint(bad) }
        }
        do {
            _ = try endpoint("https://user:secret@collector:4318")
            Issue.record("credentials in the URL were accepted")
        } catch {
            #expect(error.variable == "JUNCTION_OTEL_ENDPOINT" && !error.description.contains("secret"), "\(error)")
        }
    }

    /// One trace from the caller to the provider: the ingress's server span continues the
    /// caller's `traceparent`, the worker's job span is its child, and the job's provider call is
    /// the job span's child; a webhook delivery's span is the root of its job's trace, and its
    /// `X-Request-Id` is that trace's id. Sent as OTLP/HTTP protobuf to a collector on loopback.
    ///
    /// Written inline in this async closure, `spans.filter { span in span.kind == 3 && … }`
    /// returned the ingress's kind-2 span (three runs out of three, whatever the closure's
    /// spelling), while the same line in a synchronous function answers right: the sync's checks
    /// are in ``expectOneTrace(_:trace:caller:)``. Not reduced further; suspect the compiler.
    @Test func spansRunFromTheCallerThroughTheIngressAndTheJobToTheProviderCall() async throws {
        let collector = TraceCollector()
        try await withLiveServer(collector.router()) { port in
            try await ConnectStack.with(seed: 7, extra: [
                "JUNCTION_OTEL_ENDPOINT": "http://127.0.0.1:\(port)",
                // Export every 100 ms rather than every 5 s.
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            ]) { stack in
                let stripe = try await stack.connect("stripe", tenant: "tenant-spans")
                let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
                let caller = "00f067aa0ba902b7"
                let triggered = try await stack.http.send(OutboundRequest(
                    method: "POST", url: "\(stack.ingressURL)/v1/connections/\(stripe.uuidString.lowercased())/syncs",
                    headers: APITests.bearer("tenant-spans", roles: ["admin"]).map { (name: $0.0, value: $0.1) }
                        + [(name: "Content-Type", value: "application/json"), (name: "traceparent", value: "00-\(trace)-\(caller)-01")],
                    body: Array(#"{"resource":"customers"}"#.utf8)))
                #expect(triggered.status == 202 && triggered.header("x-request-id") == trace, "\(triggered.status) \(triggered.text)")

                try await QueueKit.eventually("the sync's spans reach the collector") {
                    let spans = collector.spans.filter { span in span.traceID == trace }
                    return spans.contains { span in span.name == "job sync.run" } && spans.contains { span in span.service == "junction-worker" && span.kind == 3 }
                        && spans.contains { span in span.service == "junction-ingress" && span.kind == 2 }
                }
                try Self.expectOneTrace(collector.spans, trace: trace, caller: caller)

                // A webhook: the delivery's span is the root of a new trace, named in its answer.
                let body = #"{"id":"evt_spans_1","object":"event","type":"customer.updated","created":1700000000,"data":{"object":{"id":"cus_spans","object":"customer"}}}"#
                let delivered = try await stack.deliverStripe(body)
                let webhookTrace = try #require(delivered.header("x-request-id"))
                #expect(delivered.status == 200)
                try await QueueKit.eventually("the webhook's spans reach the collector") {
                    let spans = collector.spans.filter { span in span.traceID == webhookTrace }
                    return spans.contains { span in span.name == "job webhook.process" } && spans.contains { span in span.name == "POST /webhooks/{provider}" }
                }
                let webhookSpans = collector.spans.filter { span in span.traceID == webhookTrace }
                let delivery = try #require(webhookSpans.first { span in span.name == "POST /webhooks/{provider}" }, "\(webhookSpans)")
                #expect(delivery.service == "junction-ingress" && delivery.parentSpanID.isEmpty && delivery.attributes["junction.provider"] == "stripe", "\(delivery)")
                let processed = try #require(webhookSpans.first { span in span.name == "job webhook.process" })
                #expect(processed.parentSpanID == delivery.spanID, "\(processed)")

                // The OAuth callback's code never reaches a span.
                #expect(collector.spans.allSatisfy { span in !span.attributes.values.contains { value in value.contains("code=") && !value.contains("code=REDACTED") } },
                        "\(collector.spans.filter { span in span.attributes["url.query"] != nil })")
                #expect(collector.problems.isEmpty, "\(collector.problems)")
            }
        }
    }

    /// The sync's trace: the ingress's server span under the caller's, the job's consumer span
    /// under it, and the job's provider calls under the job's span. Synchronous on purpose: the
    /// same checks written inline in the async test read a span the filter had not chosen (see
    /// the note on ``spansRunFromTheCallerThroughTheIngressAndTheJobToTheProviderCall()``).
    static func expectOneTrace(_ received: [ReceivedSpan], trace: String, caller: String) throws {
        let spans = received.filter { span in span.traceID == trace }
        let server = try #require(spans.first { span in span.service == "junction-ingress" && span.kind == 2 }, "\(spans)")
        #expect(server.parentSpanID == caller && server.name == "/v1/connections/{id}/syncs", "\(server)")
        #expect(server.attributes["http.response.status_code"] == "202", "\(server)")
        let job = try #require(spans.first { span in span.name == "job sync.run" })
        #expect(job.service == "junction-worker" && job.kind == 5 && job.parentSpanID == server.spanID, "\(job)")
        #expect(job.attributes["junction.job.outcome"] == "succeeded" && job.attributes["junction.trace_id"] == trace, "\(job)")
        let providerCalls = spans.filter { span in span.kind == 3 && span.service == "junction-worker" }
        #expect(!providerCalls.isEmpty && providerCalls.allSatisfy { span in span.parentSpanID == job.spanID && span.name == "GET stripe" && span.attributes["http.response.status_code"] == "200" }, "\(providerCalls)")
        #expect(providerCalls.allSatisfy { span in span.attributes["url.full"] == nil && span.attributes["url.path"] == nil }, "no provider URL in a span")
    }
}
