import HummingbirdCore
import JunctionQueue
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

// The ingress's own HTTP/1 channel: this folder (`Channel/`) is the code that bypasses
// Hummingbird's router for webhook deliveries, and everything it relies on of Hummingbird is here:
//
// - `HummingbirdCore.HTTPServerBuilder` (in IngressProcess) taking a custom `ServerChildChannel`;
// - `HTTPChannelHandler` and its `handleHTTP(asyncChannel:logger:)`, Hummingbird's request loop
//   for the requests passed on to the router, and its `Responder` typealias;
// - `HTTPConnectionStateHandler(idleTimeout:logger:)`, Hummingbird's per-connection state handler
//   for graceful shutdown;
// - the pipeline `HTTP1Channel` builds (NIO's HTTP/1 codec, then `HTTP1ToHTTPServerCodec` from
//   swift-nio-extras), rebuilt here by hand in `setup(channel:logger:)`.
//
// A Hummingbird upgrade that changes any of these shows here first (the ingress tests fail). The
// deliveries keep the routed endpoints' hooks: `X-Request-Id` (RequestIDMiddleware's header), the
// `junction_webhooks_total` and latency metrics (`WebhookMeters`), server spans when traces are
// exported, and the intake's log lines with the delivery's trace id.
//
// Why not the router: the same deliveries answered by a Hummingbird route measured about half the
// rate at 2.4 times the CPU per delivery (docs/PERFORMANCE.md, "the router path";
// `bench/support/routed-webhooks.patch` is that variant, to measure it again after an upgrade).

/// Hummingbird's HTTP/1 child channel with ``WebhookChannelHandler`` in front of the router:
/// the same pipeline `HTTP1Channel` builds (HTTP/1 codec, conversion to HTTP types, connection
/// state for idle and graceful shutdown, Hummingbird's request loop), plus the handler that
/// answers webhook deliveries right after the HTTP/1 decoder, before any conversion.
struct WebhookServerChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
    let responder: HTTPChannelHandler.Responder
    let intake: WebhookIntake
    let jobs: EventLoopEnqueuers
    let limits: ConnectionLimits
    let connections: ConnectionCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // First: past the cap of open connections a connection is answered 503 and closed;
            // otherwise its head, body and idle time are timed (ConnectionGuards.swift).
            if connections.admit(channel, limit: limits.maxConnections) {
                let deadline = ConnectionDeadline(limits: limits)
                try pipeline.addHandler(RawActivityHandler(deadline: deadline))
                try Self.configureHTTP(pipeline)
                try pipeline.addHandler(RequestProgressHandler(deadline: deadline))
            } else {
                try pipeline.addHandler(RefusingHandler())
                try Self.configureHTTP(pipeline)
            }
            try pipeline.addHandler(WebhookChannelHandler(intake: intake, jobs: jobs))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    private static func configureHTTP(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // Hummingbird answers its requests in order; the webhook handler keeps order with them
                withErrorHandling: false,  // Hummingbird answers parse errors
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init())
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
