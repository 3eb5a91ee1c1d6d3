import Foundation
import JunctionCore

/// One stored object: its id, its place in creation order, and its fields.
struct Record: Sendable {
    var id: String
    /// Creation order across the collection (newer is larger), the basis of every cursor.
    var sequence: Int
    /// Unix seconds.
    var created: Int64
    /// Milliseconds since the epoch of the last change.
    var updatedMs: Int64
    var fields: [String: JSONValue] {
        didSet { rendered = nil }
    }
    /// The fields as JSON text, kept once a list has rendered them (a change clears it): a page
    /// of 100 Stripe objects is then joined, not serialized again, which kept the sandbox from
    /// taking half of a 2-core machine from the sync it serves in `bench/sync`.
    var rendered: String?

    init(id: String, sequence: Int, created: Int64, updatedMs: Int64, fields: [String: JSONValue]) {
        self.id = id
        self.sequence = sequence
        self.created = created
        self.updatedMs = updatedMs
        self.fields = fields
    }

    var json: JSONValue { .object(fields) }
}

/// Records in creation order, with an index by id: appending, finding and slicing a page are
/// cheap even with 100,000 records.
struct RecordCollection: Sendable {
    private(set) var records: [Record] = []
    private var positions: [String: Int] = [:]
    private var nextSequence = 1

    var count: Int { records.count }

    mutating func insert(id: String, created: Int64, updatedMs: Int64, fields: [String: JSONValue]) -> Record {
        let record = Record(id: id, sequence: nextSequence, created: created, updatedMs: updatedMs, fields: fields)
        nextSequence += 1
        positions[id] = records.count
        records.append(record)
        return record
    }

    func find(_ id: String) -> Record? { positions[id].map { records[$0] } }

    /// The record at `index` as JSON text, rendered once and kept until it changes.
    mutating func rendered(at index: Int) -> String {
        if let text = records[index].rendered { return text }
        let text = records[index].json.serialized
        records[index].rendered = text
        return text
    }

    func position(of id: String) -> Int? { positions[id] }

    mutating func update(_ id: String, _ change: (inout Record) -> Void) -> Record? {
        guard let position = positions[id] else { return nil }
        change(&records[position])
        return records[position]
    }

    mutating func remove(_ id: String) -> Record? {
        guard let position = positions.removeValue(forKey: id) else { return nil }
        let record = records.remove(at: position)
        for index in position..<records.count { positions[records[index].id] = index }
        return record
    }
}

/// A deterministic pseudo-random generator (SplitMix64): the same seed value gives the same data.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }

    mutating func chance(_ probability: Double) -> Bool { Double(next() % 10_000) / 10_000 < probability }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// `length` characters from [a-zA-Z0-9], as Stripe ids use.
    mutating func token(_ length: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: length)
        for index in 0..<length { bytes[index] = Self.alphabet[Int(next() % UInt64(Self.alphabet.count))] }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// People with realistic variety: accents, scripts beyond Latin, apostrophes, long names, blanks.
enum People {
    static let first = ["Zoë", "José", "Amélie", "Søren", "Łukasz", "Nguyễn", "Aoife", "Björk", "Renée", "Dmitri", "Priya", "Chloé",
                        "Mohammed", "Siobhán", "Yuki", "Ana", "Jürgen", "François", "李", "Олена"]
    static let last = ["Ångström", "O'Brien", "Müller", "García-Márquez", "Nakamura", "Dubois", "Kowalski", "Østergaard", "Smith",
                       "van der Berg", "Papadopoulos", "Ní Bhriain", "伟", "Шевченко", "d'Arcy", "Okafor", "Lindqvist", "Rossi"]
    static let cities = ["Lyon", "Zürich", "Kraków", "São Paulo", "Québec", "Reykjavík", "Tōkyō", "Austin", "Dublin", "Cape Town"]

    struct Person {
        var first: String
        var last: String
        var email: String
        var phone: String?
        var city: String
        var note: String?
    }

    /// The ASCII letters of each name, lowercased, for email addresses (computed once).
    private static func asciiLetters(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.isASCII && $0.properties.isAlphabetic }.map(Character.init)).lowercased()
    }
    private static let firstASCII = first.map(asciiLetters)
    private static let lastASCII = last.map(asciiLetters)
    private static let longNote = String(repeating: "Long-standing customer; prefers email. ", count: 12)

    static func make(_ index: Int, _ random: inout SeededGenerator) -> Person {
        let firstIndex = Int(random.next() % UInt64(first.count))
        let lastIndex = Int(random.next() % UInt64(last.count))
        let local = firstASCII[firstIndex] + lastASCII[lastIndex]
        let email = "\(local.isEmpty ? "customer" : local).\(index)@example.com"
        let note: String? = random.chance(0.2) ? nil : random.chance(0.1) ? longNote : "Customer #\(index)"
        let digits = String(10_000 + index % 10_000).dropFirst()
        return Person(first: first[firstIndex], last: last[lastIndex], email: email, phone: random.chance(0.3) ? nil : "+1415555\(digits)",
                      city: random.pick(cities), note: note)
    }
}
