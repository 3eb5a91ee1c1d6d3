import Foundation
import JunctionCore
import Testing

/// schemathesis (PyPI: a judge no one here wrote) generates requests from the OpenAPI document and
/// sends them to a live ingress: valid ones, invalid ones, and ones with a parameter missing. It
/// checks that no answer is a 5xx, that every answer's status, content type, headers and body are
/// what the document says, that invalid input is refused, and that valid input is not.
///
/// `scripts/test` installs it into `.build/schemathesis-venv` and names it in
/// `JUNCTION_TEST_SCHEMATHESIS`; a `swift test` run without it fails here, saying so.
@Suite("Management API against its document (schemathesis)")
struct APISchemaTests {
    @Test func everyAnswerMatchesTheDocumentAndNoneIsA5xx() async throws {
        guard let schemathesis = ProcessInfo.processInfo.environment["JUNCTION_TEST_SCHEMATHESIS"], FileManager.default.isExecutableFile(atPath: schemathesis) else {
            Issue.record("schemathesis is not installed: run the tests with scripts/test, which installs it (JUNCTION_TEST_SCHEMATHESIS names it)")
            return
        }
        try await ConnectStack.with(seed: 20) { stack in
            // Real ids for the operations that take one, so the requests reach past the 404.
            let connection = try await stack.connect("stripe", tenant: "tenant-a").uuidString.lowercased()
            let event = try await APITests.changeACustomer(stack, tenant: "tenant-a")

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schemathesis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("schemathesis.toml")
            try """
                # Where the validity of a request depends on more than its shape, a 422 is a right answer:
                # a resource the connection's provider does not sync, a return URL outside the allow-list,
                # an Idempotency-Key used before for another request (generated keys repeat).
                [[operations]]
                include-path-regex = "^/v1/connections/\\\\{id\\\\}"
                parameters = { "path.id" = "\(connection)" }

                [[operations]]
                include-path-regex = "^/v1/webhook-events/\\\\{id\\\\}"
                parameters = { "path.id" = "\(event)" }

                [[operations]]
                include-path = "/v1/records"
                parameters = { "query.connection" = "\(connection)" }

                [[operations]]
                include-operation-id-regex = "^(listSyncRuns|listRecords)$"
                checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422]

                [[operations]]
                include-path-regex = "^/v1/mappings/"
                parameters = { "path.provider" = "stripe", "path.resource" = "customers" }

                [[operations]]
                include-path-regex = "^/v1/pushes/"
                checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 404]

                [[operations]]
                include-method = "PUT"
                checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 422]

                [[operations]]
                include-method = "POST"
                checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422]
                """.write(to: config, atomically: true, encoding: .utf8)
            let token = ConnectStack.token(tenant: "tenant-a", expires: Date() + 900)
            let process = try ChildProcess(schemathesis, arguments: [
                "--config-file", config.path, "run", "\(stack.ingressURL)/v1/openapi.json", "--url", stack.ingressURL,
                "-H", "Authorization: Bearer \(token)", "--checks", "all",
                // Not judged here: the delete, which would remove the connection the other
                // operations use, and the admin operations, which take signed requests schemathesis
                // cannot make (APITests covers both).
                "--exclude-operation-id", "deleteConnection", "--exclude-path-regex", "^/v1/admin/",
                // One worker: with two, schemathesis 4.32.5 sometimes fails in its own coverage phase.
                "--phases", "coverage,fuzzing", "--max-examples", "25", "--seed", "20261201", "--workers", "1",
                "--no-color", "--output-truncate", "true", "--report", "junit", "--report-dir", directory.path,
            ], environment: ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 })
            let status = try await process.exitStatus(limit: .seconds(240))
            let output = process.standardOutput + process.standardError
            if ProcessInfo.processInfo.environment["JUNCTION_TEST_LOGS"] != nil { print(output) }
            #expect(status == 0, "schemathesis found answers the document does not allow:\n\(output.suffix(12_000))")
            // The spec's tenant operations, less the delete and the document's own GET (schemathesis
            // counts the spec it loaded one operation short of the spec's: 26 of 27 here).
            let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]
            let tenantOperations = try APITests.specOperations().filter { operation in
                methods.contains(String(operation.prefix { $0 != " " })) && !operation.contains(" /v1/admin/")
                    && !["DELETE /v1/connections/{id}", "GET /v1/openapi.json"].contains(operation)
            }
            #expect(output.contains("Tested: \(tenantOperations.count)"), "every tenant operation but the delete (\(tenantOperations.count)) was tested:\n\(output.suffix(3_000))")
            // schemathesis can end 0 after an error of its own in a phase: a phase that did not run judged nothing.
            #expect(!output.contains("Runtime Error") && output.contains("✅ Coverage") && output.contains("✅ Fuzzing"), "both phases ran:\n\(output.suffix(3_000))")
        }
    }
}
