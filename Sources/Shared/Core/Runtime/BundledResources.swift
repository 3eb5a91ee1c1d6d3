import Foundation

/// Finds the folders shipped in Junction's resource bundles, which SwiftPM puts next to the
/// executables, one per library that has resources: the migrations (`sql` in
/// `junction_JunctionCore.resources`) and the Lua scripts (`scripts` in
/// `junction_JunctionQueue.resources`).
public enum BundledResources {
    /// The first existing folder among: `explicit`, the folder named by `overrideVariable`, and
    /// `name` inside the library's resource bundle next to the running executable.
    public static func directory(
        _ name: String, library: String, explicit: URL? = nil, overrideVariable: String, environment: EnvironmentVariables = EnvironmentVariables()
    ) throws -> URL {
        var candidates: [URL] = []
        if let explicit { candidates.append(explicit) }
        if let configured = environment.values[overrideVariable], !configured.isEmpty {
            candidates.append(URL(fileURLWithPath: configured))
        }
        let bundleName = "junction_\(library).resources"
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent(bundleName).appendingPathComponent(name))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(bundleName).appendingPathComponent(name))
        var isDirectory: ObjCBool = false
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory) && isDirectory.boolValue {
            return candidate
        }
        throw ResourcesNotFound(name: name, bundle: bundleName, overrideVariable: overrideVariable, searched: candidates.map(\.path))
    }
}

/// The resource folder is missing: a deployment copied the executables without their bundle.
public struct ResourcesNotFound: Error, CustomStringConvertible {
    public let name: String
    public let bundle: String
    public let overrideVariable: String
    public let searched: [String]

    public var description: String {
        "Junction's \(name) folder was not found; looked in \(searched.joined(separator: ", ")). Copy \(bundle) next to the executables, or set \(overrideVariable)"
    }
}
