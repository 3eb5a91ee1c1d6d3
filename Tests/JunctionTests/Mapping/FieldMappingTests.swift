import Foundation
import JunctionCore
import JunctionMapping
import JunctionProviders
import Testing

/// Field mappings: paths into a provider's objects, every transform, the checks a mapping passes
/// before it is saved (each problem naming its field), and the defaults every synced resource ships.
@Suite("Field mappings")
struct FieldMappingTests {
    static func mapping(_ json: String) throws -> FieldMapping {
        try FieldMapping.parse(try JSONValue(parsing: json))
    }

    static func map(_ rules: String, _ object: String) throws -> (record: JSONValue, problems: [MappingProblem]) {
        try mapping(#"{"rules":\#(rules)}"#).apply(to: try JSONValue(parsing: object))
    }

    static let stripeCustomers = MappingCatalog.entry(provider: "stripe", resource: "customers")!.shape

    @Test func pathsReachNestedFieldsArrayElementsAndEveryElement() throws {
        let object = try JSONValue(parsing: #"""
            {"address":{"city":"Lyon"},"emails":[{"v":"a@x.io"},{"v":"b@x.io"}],
             "Line":[{"Amount":5,"Linked":[{"Id":"1"},{"Id":"2"}]},{"Amount":7,"Linked":[{"Id":"3"}]}]}
            """#)
        func value(_ path: String) throws -> JSONValue? { try FieldPath(parsing: path).value(in: object) }
        #expect(try value("address.city") == "Lyon")
        #expect(try value("emails[0].v") == "a@x.io" && value("emails[-1].v") == "b@x.io")
        #expect(try value("emails[5].v") == nil && value("address.zip") == nil && value("address.city.x") == nil)
        #expect(try value("emails[*].v") == ["a@x.io", "b@x.io"])
        #expect(try value("Line[*].Amount") == [5, 7])
        #expect(try value("Line[*].Linked[*].Id") == ["1", "2", "3"], "nested fan-outs make one flat array")
        for bad in ["", "a..b", "a[x]", "a[", "[0]", "a[-2]", "a b"] {
            #expect(throws: MappingProblem.self, "\(bad)") { try FieldPath(parsing: bad) }
        }
    }

    @Test func textTransformsDefaultsAndConstants() throws {
        let (record, problems) = try Self.map(#"""
            [{"target":"name","source":"name","transforms":["trim"]},
             {"target":"email","source":"email","transforms":["trim","lower"]},
             {"target":"code","source":"code","transforms":["upper"]},
             {"target":"nick","source":"nick","transforms":[{"default":"n/a"}]},
             {"target":"blank","source":"blank","transforms":[{"default":"n/a"}]},
             {"target":"kept","source":"name","transforms":[{"default":"n/a"}]},
             {"target":"kind","transforms":[{"constant":"customer"}]},
             {"target":"full","sources":["first","middle","last"],"transforms":[{"concat":{"separator":" "}}]},
             {"target":"tags","source":"tags[*].name","transforms":[{"concat":{"separator":", "}}]},
             {"target":"first","source":"name","transforms":["trim",{"split":{"separator":" ","index":0}}]},
             {"target":"last","source":"name","transforms":["trim",{"split":{"separator":" ","index":-1}}]},
             {"target":"parts","source":"csv","transforms":[{"split":{"separator":","}}]},
             {"target":"tier","source":"plan","transforms":[{"lookup":{"table":{"p1":"gold","p2":"silver"},"default":"bronze"}}]},
             {"target":"tier2","source":"other_plan","transforms":[{"lookup":{"table":{"p1":"gold"},"default":"bronze"}}]},
             {"target":"tier3","source":"other_plan","transforms":[{"lookup":{"table":{"p1":"gold"}}}]},
             {"target":"nothing","source":"missing","transforms":["trim","upper"]}]
            """#, #"""
            {"name":"  Ada Lovelace ","email":" ADA@Example.COM ","code":"fr","blank":"  ","first":"Ada","last":"King","middle":null,
             "tags":[{"name":"vip"},{"name":"early"}],"csv":"a, b,c","plan":"p1","other_plan":"p9"}
            """#)
        #expect(problems.isEmpty, "\(problems)")
        #expect(record["name"] == "Ada Lovelace" && record["email"] == "ada@example.com" && record["code"] == "FR")
        #expect(record["nick"] == "n/a" && record["blank"] == "n/a" && record["kept"] == "  Ada Lovelace ", "default fills what is missing, null or blank only")
        #expect(record["kind"] == "customer")
        #expect(record["full"] == "Ada King", "concat leaves a missing or null source out")
        #expect(record["tags"] == "vip, early")
        #expect(record["first"] == "Ada" && record["last"] == "Lovelace" && record["parts"] == ["a", "b", "c"])
        #expect(record["tier"] == "gold" && record["tier2"] == "bronze" && record["tier3"] == .null)
        #expect(record["nothing"] == .null, "a missing source maps to null through every transform")
    }

    @Test func datesAreWrittenInTheAskedZoneAndFormatAndADateStaysItsDay() throws {
        let (record, problems) = try Self.map(#"""
            [{"target":"ny","source":"unix","transforms":[{"date":{"format":"datetime","time_zone":"America/New_York"}}]},
             {"target":"utc","source":"unix","transforms":[{"date":{}}]},
             {"target":"paris","source":"iso","transforms":[{"date":{"format":"dd/MM/yyyy HH:mm","time_zone":"Europe/Paris"}}]},
             {"target":"fraction","source":"fractional","transforms":[{"date":{"format":"time","time_zone":"Asia/Tokyo"}}]},
             {"target":"day","source":"day","transforms":[{"date":{"format":"datetime","time_zone":"Pacific/Auckland"}}]},
             {"target":"epoch","source":"iso","transforms":[{"date":{"format":"unix"}}]},
             {"target":"bad","source":"bad","transforms":[{"date":{"format":"date"}}]}]
            """#, #"{"unix":1700000000,"iso":"2026-07-14T09:30:00-07:00","fractional":"2026-01-05T10:00:00.123Z","day":"2026-03-08","bad":"soon"}"#)
        #expect(record["ny"] == "2023-11-14T17:13:20-05:00" && record["utc"] == "2023-11-14T22:13:20Z")
        #expect(record["paris"] == "14/07/2026 18:30", "09:30 at -07:00 is 18:30 in Paris (summer time)")
        #expect(record["fraction"] == "19:00:00")
        #expect(record["day"] == "2026-03-08", "a calendar date is not moved by a time zone")
        #expect(record["epoch"] == 1_784_046_600)
        #expect(record["bad"] == .null && problems == [MappingProblem(#""soon" is not a time or a date"#, field: "bad")], "\(problems)")
    }

    @Test func moneyMovesBetweenMinorUnitsAndDecimalsByTheCurrencysExponent() throws {
        let (record, problems) = try Self.map(#"""
            [{"target":"usd","source":"amount","transforms":[{"money":{"to":"decimal","currency_source":"currency"}}]},
             {"target":"yen","source":"amount","transforms":[{"money":{"to":"decimal","currency":"JPY"}}]},
             {"target":"dinar","source":"amount","transforms":[{"money":{"to":"decimal","currency":"KWD"}}]},
             {"target":"plain","source":"amount","transforms":[{"money":{"to":"decimal"}}]},
             {"target":"cents","source":"total","transforms":[{"money":{"to":"minor","currency":"USD"}}]},
             {"target":"square","source":"total_money.amount","transforms":[{"money":{"to":"decimal","currency_source":"total_money.currency"}}]}]
            """#, #"{"amount":1999,"currency":"usd","total":19.99,"total_money":{"amount":500,"currency":"JPY"}}"#)
        #expect(problems.isEmpty, "\(problems)")
        #expect(record["usd"] == .number(19.99) && record["yen"] == .number(1999) && record["dinar"] == .number(1.999) && record["plain"] == .number(19.99))
        #expect(record["cents"] == 1999, "19.99 is 1,999 cents, not 1,998")
        #expect(record["square"] == .number(500))
    }

    @Test func phonesBecomeE164OrNullWithAProblem() throws {
        let cases: [(String, String, String?)] = [
            ("(415) 555-0123", "US", "+14155550123"), ("1-415-555-0123", "US", "+14155550123"), ("415.555.0123 ext. 12", "US", "+14155550123"),
            ("+44 20 7946 0958", "US", "+442079460958"), ("020 7946 0958", "GB", "+442079460958"), ("06 12 34 56 78", "FR", "+33612345678"),
            ("0049 30 123456", "FR", "+4930123456"), ("011 33 6 12 34 56 78", "US", "+33612345678"), ("06 1234 5678", "IT", "+390612345678"),
            ("555-0123", "US", nil), ("call me", "US", nil), ("+1 (015) 555-0123", "US", nil), ("12", "GB", nil),
        ]
        for (input, region, expected) in cases {
            let (record, problems) = try Self.map(#"[{"target":"phone","source":"phone","transforms":[{"phone":{"region":"\#(region)"}}]}]"#, #"{"phone":"\#(input)"}"#)
            #expect(record["phone"] == expected.map(JSONValue.string) ?? .null, "\(input) read as \(region)'s")
            #expect(problems.isEmpty == (expected != nil), "\(input): \(problems)")
        }
    }

    @Test func aMappingThatCannotWorkIsRefusedWithEveryProblemNamedByItsField() throws {
        let mapping = try Self.mapping(#"""
            {"rules":[
             {"target":"email","source":"emial","transforms":["lower"]},
             {"target":"balance","source":"balance","transforms":["trim"]},
             {"target":"name","source":"name"},
             {"target":"name","source":"description"},
             {"target":"Bad Name","source":"name"},
             {"target":"address","source":"address"},
             {"target":"address.city","source":"address.city"},
             {"target":"pair","sources":["name","email"]},
             {"target":"when","source":"created","transforms":[{"money":{"to":"decimal"}}]},
             {"target":"fixed","source":"name","transforms":[{"constant":"x"}]},
             {"target":"nothing"},
             {"target":"meta","source":"metadata.plan","transforms":["upper"]},
             {"target":"currency_ok","source":"balance","transforms":[{"money":{"to":"decimal","currency_source":"nope"}}]}
            ]}
            """#)
        let problems = mapping.validate(against: Self.stripeCustomers)
        func problem(_ field: String) -> String? { problems.first { $0.field == field }?.message }
        #expect(problem("email") == "emial is not a field of stripe customers (did you mean email?)", "\(problems)")
        #expect(problem("balance") == "trim takes text, and its input is an amount in minor units")
        #expect(problem("name") == "rules 2 and 3 both write name")
        #expect(problem("rules[4]")?.hasPrefix("target \"Bad Name\" must be lower-case names") == true)
        #expect(problem("address.city") == "address is written by another rule, so address.city cannot be inside it")
        #expect(problem("pair") == "a rule with several sources joins them: concat first")
        #expect(problem("when") == "money takes an amount in minor units, and its input is a Unix time")
        #expect(problem("fixed") == "constant takes no input: give the rule no source, and constant first")
        #expect(problem("nothing") == "a rule without a source starts with constant")
        #expect(problem("meta") == nil, "below metadata any key may be read")
        #expect(problem("currency_ok") == "money's currency_source nope is not a field of stripe customers")
        #expect(problems.count == 10, "\(problems)")

        // Problems in the document itself, before any shape is consulted: all of them at once.
        do {
            _ = try Self.mapping(#"""
                {"rules":[{"target":"a","source":"x","transforms":["shout"]},{"target":"b","source":"x","transforms":[{"date":{"time_zone":"Mars/Olympus"}}]},
                 {"target":"c","source":"x","transforms":[{"money":{"currency":"dollars"}}]},{"target":"d","source":"x","transforms":[{"phone":{"region":"ZZ"}}]},
                 {"target":"e","source":"x[","extra":1},{"target":"f","source":"x","transforms":[{"split":{"separator":""}}]}]}
                """#)
            Issue.record("a mapping with unknown transforms was read")
        } catch let error as MappingProblems {
            #expect(error.problems.map { $0.field ?? "" } == ["a", "b", "c", "d", "e", "f"], "\(error)")
            #expect(error.problems[0].message.hasPrefix("shout is not a transform (there are trim, lower, upper"))
            #expect(error.problems[1].message.contains("Mars/Olympus is not an IANA time zone"))
            #expect(error.problems[2].message.contains("three-letter ISO 4217 code"))
            #expect(error.problems[3].message.contains("region ZZ is not one Junction knows"))
            #expect(error.problems[4].message == "a rule has no extra (it has target, source or sources, transforms)")
        }
        #expect(throws: MappingProblems.self) { try Self.mapping(#"{"rules":{}}"#) }
    }

    @Test func everySyncedResourceHasDefaultsThatPassTheirOwnChecksAndReadBackAsWritten() throws {
        for provider in ["stripe", "square", "mailchimp", "quickbooks"] {
            let resources = try #require(Providers.named(provider)?.sync).map(\.name)
            for resource in resources {
                let entry = try #require(MappingCatalog.entry(provider: provider, resource: resource), "\(provider) \(resource) has defaults")
                #expect(entry.defaults.validate(against: entry.shape).isEmpty, "\(provider) \(resource): \(entry.defaults.validate(against: entry.shape))")
                #expect(try FieldMapping.parse(entry.defaults.json) == entry.defaults, "\(provider) \(resource)'s defaults read back as written")
            }
        }
        #expect(MappingCatalog.all.count == 23)
        // The documented fields a tenant relies on.
        let targets = { (provider: String, resource: String) in Set(MappingCatalog.entry(provider: provider, resource: resource)?.defaults.rules.map(\.target) ?? []) }
        for (provider, resource) in [("stripe", "customers"), ("square", "customers"), ("quickbooks", "customers")] {
            #expect(targets(provider, resource).isSuperset(of: ["name", "email", "phone", "address.line1", "address.city", "address.postal_code", "address.country"]), "\(provider) \(resource)")
        }
        for (provider, resource) in [("stripe", "invoices"), ("quickbooks", "invoices")] {
            #expect(targets(provider, resource).isSuperset(of: ["number", "total", "currency", "due_date", "customer_id"]), "\(provider) \(resource)")
        }
        #expect(targets("stripe", "invoices").contains("status") && targets("quickbooks", "invoices").contains("status"))
    }

    /// The defaults as docs/mappings.md lists them: one row per resource, its targets and sources.
    static func defaultsTable() -> String {
        var lines = ["| provider | resource | mapped fields (target ← source) |", "|---|---|---|"]
        for entry in MappingCatalog.all {
            let rules = entry.defaults.rules.map { rule in
                let source = rule.sources.isEmpty ? "constant" : rule.sources.map(\.description).joined(separator: " + ")
                return "`\(rule.target)` ← `\(source)`"
            }
            lines.append("| \(entry.shape.provider) | \(entry.shape.resource) | \(rules.joined(separator: ", ")) |")
        }
        return lines.joined(separator: "\n")
    }

    @Test func theMappingGuideListsEveryDefaultAsTheCodeHasIt() throws {
        let guide = try String(contentsOf: TestStack.repositoryRoot.appendingPathComponent("docs/mappings.md"), encoding: .utf8)
        let table = Self.defaultsTable()
        if !guide.contains(table) { print("docs/mappings.md should hold:\n" + table) }
        #expect(guide.contains(table), "docs/mappings.md's table of defaults matches MappingCatalog (the expected table is printed above)")
    }
}
