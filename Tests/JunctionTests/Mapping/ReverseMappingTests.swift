import JunctionCore
import JunctionMapping
import JunctionProviders
import Testing

/// A push in the mapped shape is written back to the provider's fields by the rules that make
/// each mapped field; a field no rule can give back is refused by name, with why.
@Suite("Pushes in the mapped shape")
struct ReverseMappingTests {
    static func reverse(_ rules: String, _ mapped: String) throws -> Result<[String: JSONValue], MappingProblems> {
        guard case .object(let members) = try JSONValue(parsing: mapped) else { throw MappingProblem("not an object") }
        return try FieldMappingTests.mapping(#"{"rules":\#(rules)}"#).reverse(members)
    }

    @Test func theDefaultsWriteBackToTheProvidersFieldsAndMapToWhatWasPushed() throws {
        let stripe = try #require(MappingCatalog.entry(provider: "stripe", resource: "customers")).defaults
        let mapped: JSONValue = ["name": "Ana Lima", "email": "ana@example.com", "address": ["city": "Lyon", "region": "ARA"]]
        let fields = try stripe.reverse(mapped.objectValue!).get()
        #expect(JSONValue.object(fields) == ["name": "Ana Lima", "email": "ana@example.com", "address": ["city": "Lyon", "state": "ARA"]])
        // Mapped again, the provider's fields give back what was pushed.
        let again = stripe.apply(to: .object(fields)).record
        for path in [["name"], ["email"], ["address", "city"], ["address", "region"]] {
            #expect(path.reduce(Optional(again)) { $0?[$1] } == path.reduce(Optional(mapped)) { $0?[$1] }, "\(path)")
        }

        // Square's name is made of two fields: refused by name, the rest written back.
        let square = try #require(MappingCatalog.entry(provider: "square", resource: "customers")).defaults
        guard case .failure(let refused) = square.reverse(["name": "Ana Lima", "email": "ana@example.com"]) else {
            Issue.record("a joined field was written back")
            return
        }
        #expect(refused.problems.map(\.field) == ["name"] && refused.problems[0].message.contains("given_name and family_name"), "\(refused)")
        #expect(try square.reverse(["email": "ana@example.com", "phone": "+33612345678"]).get() == ["email_address": "ana@example.com", "phone_number": "+33612345678"])
    }

    @Test func transformsAreUndoneWhereTheyLoseNothingAndRefusedWhereTheyDo() throws {
        let rules = #"""
            [{"target":"email","source":"email","transforms":["trim","lower"]},
             {"target":"total","source":"amount","transforms":[{"money":{"to":"decimal","currency":"JPY"}}]},
             {"target":"price","source":"unit_amount","transforms":[{"money":{"to":"decimal","currency_source":"currency"}}]},
             {"target":"tier","source":"plan","transforms":[{"lookup":{"table":{"p1":"gold","p2":"silver","p3":"silver"}}}]},
             {"target":"since","source":"created","transforms":[{"date":{"format":"date"}}]},
             {"target":"kind","transforms":[{"constant":"customer"}]},
             {"target":"first_item","source":"items[0].name"},
             {"target":"cur","source":"currency"},
             {"target":"meta","source":"metadata"}]
            """#
        let written = try Self.reverse(rules, #"{"email":"ana@example.com","total":1500,"price":12.5,"cur":"eur","tier":"gold","meta":{"platform_id":"p-1"}}"#).get()
        #expect(JSONValue.object(written) == ["email": "ana@example.com", "amount": 1500, "unit_amount": 1250, "currency": "eur", "plan": "p1", "metadata": ["platform_id": "p-1"]],
                "JPY has no minor unit; EUR two; the lookup's one key for gold; inside an object mapped whole: \(written)")

        guard case .failure(let refused) = try Self.reverse(rules, #"""
            {"tier":"silver","since":"2026-01-02","kind":"x","first_item":"pen","price":3.5,"nickname":"n"}
            """#) else {
            Issue.record("fields that cannot be written back were")
            return
        }
        let why = Dictionary(uniqueKeysWithValues: refused.problems.map { ($0.field ?? "", $0.message) })
        #expect(why.keys.sorted() == ["first_item", "kind", "nickname", "price", "since", "tier"], "\(refused)")
        #expect(why["tier"]?.contains("p2 and p3") == true && why["since"]?.contains("date") == true && why["kind"]?.contains("constant") == true)
        #expect(why["first_item"]?.contains("array") == true && why["price"]?.contains("currency") == true && why["nickname"]?.contains("not a field") == true)
    }
}
