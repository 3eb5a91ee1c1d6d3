import JunctionCore
import JunctionMapping
import JunctionProviders
import JunctionStores
import Testing

/// What the default mapping of a synced resource must do with the objects a sync stored: map each
/// without a problem, write every one of its targets, and fill a target whenever the object has a
/// value at the rule's source (a transform never loses a value the provider sent).
enum DefaultMappingCheck {
    static func expectDefaultsMap(_ records: [StoredRecord], provider: String, resource: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let entry = MappingCatalog.entry(provider: provider, resource: resource) else {
            Issue.record("\(provider) \(resource) has no default mapping", sourceLocation: sourceLocation)
            return
        }
        #expect(!records.isEmpty && entry.defaults.validate(against: entry.shape).isEmpty, "\(entry.defaults.validate(against: entry.shape))", sourceLocation: sourceLocation)
        var lost: Set<String> = []
        for record in records {
            let (mapped, problems) = entry.defaults.apply(to: record.data)
            #expect(problems.isEmpty, "\(provider) \(resource) \(record.externalID): \(problems) in \(record.data.serialized)", sourceLocation: sourceLocation)
            for rule in entry.defaults.rules {
                let value = rule.target.split(separator: ".").reduce(Optional(mapped)) { $0?[String($1)] }
                guard let value else {
                    Issue.record("\(provider) \(resource): \(rule.target) missing from \(mapped.serialized)", sourceLocation: sourceLocation)
                    continue
                }
                let given = rule.sources.contains { source in
                    switch source.value(in: record.data) {
                    case nil, .null?, .string("")?, .array([])?: false
                    default: true
                    }
                }
                if given && value == .null { lost.insert(rule.target) }
            }
        }
        #expect(lost.isEmpty, "\(provider) \(resource): sources given but \(lost.sorted()) mapped to null", sourceLocation: sourceLocation)
    }
}
