import Foundation
import JunctionCore
import Testing

/// What ops deploy from `deploy/`: the dashboard and the alerts use only metrics the processes
/// export, every exported metric is documented, the alert rules pass their unit tests, and the
/// Kubernetes manifests validate against Kubernetes's and KEDA's schemas. The tools come from
/// scripts/test (`JUNCTION_TEST_DEPLOY_PYTHON`, `JUNCTION_TEST_PROMTOOL`); without them these
/// tests fail, saying so.
@Suite("Deployment files")
struct DeployTests {
    static let root = TestStack.repositoryRoot

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The metric names an expression uses: `junction_…`, Hummingbird's `hb_…` and
    /// `http_server_…`, a histogram's `_bucket`, `_sum` and `_count` read as the histogram.
    static func metrics(in expression: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: #"\b(junction_[a-z0-9_]+|hb_[a-z0-9_]+|http_server_[a-z0-9_]+)\b"#)
        let range = NSRange(expression.startIndex..., in: expression)
        var names: Set<String> = []
        for match in pattern.matches(in: expression, range: range) {
            var name = String(expression[Range(match.range, in: expression)!])
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if Self.exported[base] == .histogram { name = base }
            }
            names.insert(name)
        }
        return names
    }

    static let exported = MetricName.catalog.merging(MetricName.hummingbird) { $1 }

    @Test func theDashboardAndTheAlertsUseOnlyMetricsTheProcessesExport() throws {
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(try Self.text("deploy/grafana/junction.json").utf8)) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= panels.count, "every panel queries something")
        let used = expressions.reduce(into: Set<String>()) { $0.formUnion(Self.metrics(in: $1)) }
        #expect(used.isSubset(of: Set(Self.exported.keys)), "the dashboard uses metrics nothing exports: \(used.subtracting(Self.exported.keys).sorted())")
        // The dashboard covers what the issue names: webhooks, queues, jobs, breakers, syncs, refreshes.
        for name in [MetricName.webhooks, MetricName.queueReady, MetricName.jobs, MetricName.breakerState, MetricName.syncRecords, MetricName.tokenRefreshes] {
            #expect(used.contains(name), "the dashboard shows \(name)")
        }

        let alerts = try Self.text("deploy/prometheus/alerts.yml")
        let inAlerts = Self.metrics(in: alerts)
        #expect(!inAlerts.isEmpty)
        #expect(inAlerts.isSubset(of: Set(Self.exported.keys)), "the alerts use metrics nothing exports: \(inAlerts.subtracting(Self.exported.keys).sorted())")
    }

    @Test func everyMetricIsDocumentedWithItsKind() throws {
        let operations = try Self.text("docs/operations.md")
        for (name, kind) in MetricName.catalog {
            let row = operations.split(separator: "\n").first { $0.hasPrefix("| ") && $0.contains("`\(name)`") }
            #expect(row != nil, "docs/operations.md has a row for \(name)")
            #expect(row?.contains(kind.rawValue) == true, "docs/operations.md says \(name) is a \(kind.rawValue): \(row ?? "")")
        }
        // Every alert has its runbook entry.
        let alerts = try Self.text("deploy/prometheus/alerts.yml")
        for line in alerts.split(separator: "\n") where line.contains("runbook: docs/operations.md#") {
            let anchor = String(line.split(separator: "#").last!)
            let heading = operations.split(separator: "\n").first { $0.hasPrefix("#") && Self.anchor(of: String($0)) == anchor }
            #expect(heading != nil, "docs/operations.md has a heading for #\(anchor)")
        }
    }

    /// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as dashes.
    static func anchor(of heading: String) -> String {
        let text = heading.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
        return String(text.compactMap { $0 == " " ? "-" : ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : nil })
    }

    @Test func theAlertRulesPassTheirUnitTests() async throws {
        guard let promtool = ProcessInfo.processInfo.environment["JUNCTION_TEST_PROMTOOL"], FileManager.default.isExecutableFile(atPath: promtool) else {
            Issue.record("promtool is not installed: run the tests with scripts/test, which unpacks it (JUNCTION_TEST_PROMTOOL names it)")
            return
        }
        let directory = Self.root.appendingPathComponent("deploy/prometheus").path
        let check = try ChildProcess(promtool, arguments: ["check", "rules", "\(directory)/alerts.yml"], environment: [:])
        #expect(try await check.exitStatus() == 0, "\(check.standardOutput)\(check.standardError)")
        let test = try ChildProcess(promtool, arguments: ["test", "rules", "\(directory)/alerts.test.yml"], environment: [:])
        #expect(try await test.exitStatus() == 0, "\(test.standardOutput)\(test.standardError)")
        #expect(test.standardOutput.contains("SUCCESS"))
    }

    @Test func theKubernetesManifestsValidate() async throws {
        guard let python = ProcessInfo.processInfo.environment["JUNCTION_TEST_DEPLOY_PYTHON"], FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("kubernetes-validate is not installed: run the tests with scripts/test, which installs it (JUNCTION_TEST_DEPLOY_PYTHON names its Python)")
            return
        }
        let check = try ChildProcess(python, arguments: [Self.root.appendingPathComponent("scripts/check-deploy").path], environment: [:])
        #expect(try await check.exitStatus() == 0, "\(check.standardOutput)\(check.standardError)")
        let checked = check.lines.filter { $0.hasPrefix("ok ") }
        for kind in ["Deployment junction-ingress", "Deployment junction-worker", "Deployment junction-scheduler", "Service junction-ingress",
                     "HorizontalPodAutoscaler junction-ingress", "PodDisruptionBudget junction-worker", "NetworkPolicy junction-ingress",
                     "ScaledObject junction-worker", "ConfigMap junction-config", "Secret junction-secrets"] {
            #expect(checked.contains { $0.contains(kind) }, "\(kind) checked: \(check.standardOutput)")
        }
        #expect(checked.contains { $0.contains("ScaledObject") && $0.contains("KEDA CRD schema") })
    }

    /// What a Deployment must carry for a rolling update and a scale-down to lose nothing.
    @Test func theWorkersOutliveTheirShutdownGraceAndEveryPodRunsAsNonRoot() throws {
        let worker = try Self.text("deploy/k8s/worker.yaml")
        let grace = try #require(worker.split(separator: "\n").first { $0.contains("terminationGracePeriodSeconds:") })
        let seconds = try #require(Int(grace.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)))
        let configured = try #require(EnvironmentVariables.parseDuration("25s"))
        let config = try Self.text("deploy/k8s/configmap.yaml")
        #expect(config.contains("JUNCTION_WORKER_SHUTDOWN_GRACE: \(Int(configured / .seconds(1)))s"))
        #expect(Duration.seconds(seconds) > configured + .seconds(5), "the kill comes after the grace and the hand-back: \(seconds) s")
        for file in ["ingress", "worker", "scheduler", "migrate-job"] {
            let text = try Self.text("deploy/k8s/\(file).yaml")
            #expect(text.contains("runAsNonRoot: true") && text.contains("allowPrivilegeEscalation: false") && text.contains("readOnlyRootFilesystem: true"), "\(file)")
        }
        for file in ["worker", "scheduler"] {
            let text = try Self.text("deploy/k8s/\(file).yaml")
            #expect(text.contains("path: /health/ready") && config.contains("JUNCTION_\(file.uppercased())_HTTP_PORT: \"9090\""), "\(file) is probed on its status port")
        }
        let keda = try Self.text("deploy/k8s/worker-keda.yaml")
        #expect(keda.contains(#"listName: "{junction}:queue:critical""#), "the lists are named with their hash tag")
    }
}
