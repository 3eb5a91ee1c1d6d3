import Foundation
import JunctionCore
import JunctionIngress
import Logging
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsWorkOnALaptop() throws {
        let core = try CoreSettings(environment: EnvironmentVariables([:]), processName: "junction-test")
        #expect(core.redis.host == "127.0.0.1" && core.redis.port == 6379)
        #expect(core.database.port == 5432 && core.database.database == "junction")
        #expect(core.logLevel == .info)
        #expect(core.redis.clientName == "junction-test")
        let ingress = try IngressSettings(environment: EnvironmentVariables([:]))
        #expect(ingress.host == "127.0.0.1" && ingress.port == 8080)
    }

    @Test func malformedPortNamesTheVariableAndShowsAnExample() {
        #expect {
            _ = try IngressSettings(environment: EnvironmentVariables(["JUNCTION_INGRESS_PORT": "80a"]))
        } throws: { error in
            (error as? ConfigurationError)?.description
                == "JUNCTION_INGRESS_PORT=80a is invalid: not a whole number. Example: JUNCTION_INGRESS_PORT=8080"
        }
    }

    @Test func outOfRangePortIsRejected() {
        #expect {
            _ = try IngressSettings(environment: EnvironmentVariables(["JUNCTION_INGRESS_PORT": "70000"]))
        } throws: { error in
            (error as? ConfigurationError)?.problem.contains("between 1 and 65535") == true
        }
    }

    @Test func badRedisURLNamesTheVariableWithoutEchoingThePassword() {
        #expect {
            _ = try CoreSettings(environment: EnvironmentVariables(["JUNCTION_REDIS_URL": "http://:hunter2@host:6379"]), processName: "t")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == "JUNCTION_REDIS_URL" && error.description.hasPrefix("JUNCTION_REDIS_URL is invalid: the scheme must be redis://")
                && !error.description.contains("hunter2") && error.description.contains("Example: JUNCTION_REDIS_URL=redis://")
        }
    }

    @Test func badDatabaseURLNamesTheVariable() {
        #expect {
            _ = try CoreSettings(environment: EnvironmentVariables(["JUNCTION_DATABASE_URL": "postgres://u:pw@host"]), processName: "t")
        } throws: { error in
            (error as? ConfigurationError)?.variable == "JUNCTION_DATABASE_URL"
        }
    }

    @Test func unknownLogLevelListsTheValidOnes() {
        #expect {
            _ = try CoreSettings(environment: EnvironmentVariables(["JUNCTION_LOG_LEVEL": "loud"]), processName: "t")
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("trace, debug, info, notice, warning, error, critical") == true
        }
    }

    @Test func emptyValuesCountAsUnset() throws {
        let ingress = try IngressSettings(environment: EnvironmentVariables(["JUNCTION_INGRESS_PORT": ""]))
        #expect(ingress.port == 8080)
    }

    @Test func requiredValueThatIsMissingSaysSo() {
        #expect {
            _ = try EnvironmentVariables([:]).required("JUNCTION_PUBLIC_URL", example: "https://hooks.example.com")
        } throws: { error in
            (error as? ConfigurationError)?.description == "JUNCTION_PUBLIC_URL is not set. Example: JUNCTION_PUBLIC_URL=https://hooks.example.com"
        }
    }

    @Test(arguments: [("250ms", Duration.milliseconds(250)), ("25s", .seconds(25)), ("5m", .seconds(300)), ("72h", .seconds(259_200)), ("30d", .seconds(2_592_000)), ("1.5", .milliseconds(1500))])
    func durationsReadWithUnits(text: String, expected: Duration) throws {
        #expect(try EnvironmentVariables(["D": text]).duration("D", default: "1s") == expected)
    }

    @Test func malformedDurationIsRejected() {
        #expect(throws: ConfigurationError.self) { try EnvironmentVariables(["D": "soon"]).duration("D", default: "1s") }
    }
}

@Suite("JSON logs")
struct JSONLogHandlerTests {
    @Test func eachMessageIsOneJSONLineWithMetadata() throws {
        let output = LogOutput.memory()
        var logger = Logger(label: "junction.test") { label in JSONLogHandler(label: label, level: .info, output: output) }
        logger[metadataKey: "process"] = "ingress"
        logger.info("listening \"here\"\nnow", metadata: ["port": "8080", "msg": "clash"])
        logger.debug("below the level")
        #expect(output.lines.count == 1)
        let line = try #require(output.lines.first)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "junction.test")
        #expect(object["msg"] as? String == "listening \"here\"\nnow")
        #expect(object["port"] as? String == "8080")
        #expect(object["process"] as? String == "ingress")
        #expect(object["meta.msg"] as? String == "clash")
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func credentialsInMetadataAreRedacted() throws {
        let output = LogOutput.memory()
        let logger = Logger(label: "t") { label in JSONLogHandler(label: label, level: .trace, output: output) }
        logger.warning("request", metadata: [
            "Authorization": "Bearer sk_live_123", "webhook_secret": "whsec_abc", "refresh_token": "rt",
            "headers": ["X-Signature": "v1=abc", "Accept": "json"],
        ])
        let line = try #require(output.lines.first)
        for secret in ["sk_live_123", "whsec_abc", "\"rt\"", "v1=abc"] {
            #expect(!line.contains(secret), "leaked \(secret)")
        }
        #expect(line.contains("\"Accept\":\"json\""))
    }
}
