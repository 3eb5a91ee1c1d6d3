import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores

/// `mapping.remap` (enqueued at `low` when a tenant saves a mapping version): re-maps the
/// tenant's stored records of the resource with that version, 500 a transaction, each a change in
/// the records feed. A job for a version that is no longer the newest stops: the newer one's job
/// re-maps everything. Ends when no live record is left unmapped by the version (so a page a
/// sync wrote with the old version while it ran is caught before it ends).
///
/// Payload: `{"tenant": "…", "provider": "stripe", "resource": "customers", "version": 3}`.
public struct MappingRemapHandler: JobHandler {
    public let type = MappingStore.remapJobType

    public init() {}

    /// One re-map at a time per tenant and resource.
    public func lockName(for job: JobEnvelope) -> String? {
        guard let tenant = job.payload["tenant"]?.stringValue, let provider = job.payload["provider"]?.stringValue,
              let resource = job.payload["resource"]?.stringValue else { return nil }
        return "mapping:\(tenant):\(provider):\(resource)"
    }

    public func run(_ job: JobContext) throws {
        guard let tenant = job.payload["tenant"]?.stringValue, let provider = job.payload["provider"]?.stringValue,
              let resource = job.payload["resource"]?.stringValue, let version = job.payload["version"]?.intValue else {
            throw JobFailure.permanent("mapping.remap needs tenant, provider, resource and version")
        }
        let database = try job.database()
        var remapped = 0
        var waits = 0
        while true {
            try job.checkCancellation()
            guard let current = try MappingStore().current(tenant: tenant, provider: provider, resource: resource, on: database) else {
                throw JobFailure.permanent("\(provider) \(resource) has no mapping")
            }
            guard current.version == Int(version) else {
                job.logger.info("mapping version superseded; its successor's job re-maps", metadata: [
                    "provider": .string(provider), "resource": .string(resource), "version": .stringConvertible(version),
                    "current": .stringConvertible(current.version), "remapped": .stringConvertible(remapped),
                ])
                return
            }
            let count = try RecordStore().remap(tenant: tenant, provider: provider, resource: resource, to: current, on: database)
            remapped += count
            guard count == 0 else { continue }
            // Nothing left it could lock: done, unless a sync's page still holds some (written
            // with the old version a moment before this one was saved).
            let left = try RecordStore().unmapped(tenant: tenant, provider: provider, resource: resource, version: current.version, on: database)
            if left == 0 { break }
            waits += 1
            if waits > 30 { throw JobFailure.retryable("\(left) records stayed locked for 30 s") }
            Thread.sleep(forTimeInterval: 1)
        }
        job.logger.info("records re-mapped", metadata: [
            "provider": .string(provider), "resource": .string(resource), "version": .stringConvertible(version), "records": .stringConvertible(remapped),
        ])
    }
}
