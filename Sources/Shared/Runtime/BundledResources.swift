import Foundation

/// Finds the folders shipped in Junction's resource bundle (`junction_JunctionShared.resources`,
/// which SwiftPM puts next to the executables): the migrations (`sql`) and the queue's Lua
/// scripts (`scripts`).
public enum BundledResources {
    /// The first existing folder among: `explicit`, the folder named by `overrideVariable`, and
    /// `name` inside the resource bundle next to the running executable.
    public static func directory(
        _ name: String, explicit: URL? = nil, overrideVariable: String, environment: EnvironmentVariables = EnvironmentVariables()
    ) throws -> URL {
        var candidates: [URL] = []
        if let explicit { candidates.append(explicit) }
        if let configured = environment.values[overrideVariable], !configured.isEmpty {
            candidates.append(URL(fileURLWithPath: configured))
        }
        let bundleName = "junction_JunctionShared.resources"
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent(bundleName).appendingPathComponent(name))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(bundleName).appendingPathComponent(name))
        var isDirectory: ObjCBool = false
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory) && isDirectory.boolValue {
            return candidate
        }
        throw ResourcesNotFound(name: name, overrideVariable: overrideVariable, searched: candidates.map(\.path))
    }
}

/// The resource folder is missing: a deployment copied the executables without their bundle.
public struct ResourcesNotFound: Error, CustomStringConvertible {
    public let name: String
    public let overrideVariable: String
    public let searched: [String]

    public var description: String {
        "Junction's \(name) folder was not found; looked in \(searched.joined(separator: ", ")). Copy junction_JunctionShared.resources next to the executables, or set \(overrideVariable)"
    }
}
