import Foundation
import JunctionCore
import JunctionQueue

/// Decides how an attempt that threw ends: when to run it again, or whether it is dead. The
/// envelope that goes back to Redis carries the error, and the next attempt number for retries.
public struct Retries: Sendable {
    public let settings: QueueSettings

    public init(settings: QueueSettings) {
        self.settings = settings
    }

    /// Returns the envelope to store, how the attempt ends, and the error class recorded: nil
    /// when the attempt is rescheduled, which spends no attempt and adds nothing to the history.
    /// `random` in `0..<1` drives the jitter (injectable for tests).
    public func end(_ envelope: JobEnvelope, error: any Error, now: Date = Date(), random: Double = .random(in: 0..<1)) -> (JobEnvelope, AttemptEnd, JobErrorClass?) {
        var next = envelope
        let (errorClass, message, wait): (JobErrorClass, String, Duration?)
        switch error {
        case JobFailure.reschedule(let delay, _):
            // Not the job's fault: no attempt spent, nothing added to its history.
            return (next, .reschedule(due: now + delay / .seconds(1)), nil)
        case let backoff as ProviderBackoff:
            // An open circuit, a rate limit or a 429: the same, until the provider can take it.
            return (next, .reschedule(due: max(now, backoff.retryAt)), nil)
        case JobFailure.permanent(let text):
            (errorClass, message, wait) = (.permanent, text, nil)
        case JobFailure.unauthorized(let text):
            (errorClass, message, wait) = (.unauthorized, text, nil)
        case JobFailure.retryable(let text):
            (errorClass, message, wait) = (.retryable, text, nil)
        case JobFailure.retryAfter(let delay, let text):
            (errorClass, message, wait) = (.retryable, text, delay)
        case let classified as any RetryClassifiable:
            (errorClass, message, wait) = (classified.isRetryable ? .retryable : .permanent, "\(error)", nil)
        case let missing as MissingHandler:
            (errorClass, message, wait) = (.noHandler, missing.description, nil)
        default:
            // An error that does not say: retry it, within the attempts allowed, rather than lose it.
            (errorClass, message, wait) = (.retryable, "\(error)", nil)
        }
        next.errors.append(JobErrorRecord(at: now, attempt: envelope.attempt, errorClass: errorClass, message: message))
        guard errorClass == .retryable, envelope.attempt < envelope.maxAttempts else {
            return (next, .dead, errorClass)
        }
        let policy = settings.retryPolicy(type: envelope.type, priority: envelope.priority)
        let delay = wait ?? policy.delay(afterAttempt: envelope.attempt, random: random)
        next.attempt += 1
        return (next, .retry(due: now + delay / .seconds(1)), errorClass)
    }
}

/// No handler is registered for the job's type: a permanent error.
public struct MissingHandler: Error, CustomStringConvertible {
    public let type: String
    public let known: [String]

    public init(type: String, known: [String]) {
        self.type = type
        self.known = known
    }

    public var description: String {
        "no handler for job type \(type) (this worker runs: \(known.joined(separator: ", ")))"
    }
}
