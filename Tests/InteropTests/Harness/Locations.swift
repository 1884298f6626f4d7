import Foundation

/// Where the interop harness finds things: the package root, the built `tessera` executable,
/// the `../shared` folder, the peer scripts, and the system tools (openssl, gnutls, curl, python3).
enum Locations {
    /// The package root: the nearest folder above this source file that holds `Package.swift`.
    /// Found from `#filePath` so it works whatever the working directory of `swift test` is.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return dir
            }
            dir.deleteLastPathComponent()
        }
        fatalError("InteropTests: no Package.swift above \(#filePath)")
    }()

    /// `shared/` beside the project (DESIGN.md: "as `../shared` from its root"); `TESSERA_SHARED` overrides.
    static var sharedDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["TESSERA_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// `scripts/interop-peers/`: the Python peers. They live outside `Tests/InteropTests/` because
    /// SwiftPM warns about every non-Swift file in a target folder it is not told to exclude.
    static var peersDirectory: URL { packageRoot.appendingPathComponent("scripts/interop-peers") }

    /// Candidates for the `tessera` executable, best first:
    /// 1. `TESSERA_BIN`,
    /// 2. beside the running test bundle (what `swift build --show-bin-path` prints for this build,
    ///    so `-c release` and `--scratch-path` builds find their own binary),
    /// 3. `<root>/.build/debug/tessera`.
    static var tesseraCandidates: [URL] {
        var result: [URL] = []
        if let override = ProcessInfo.processInfo.environment["TESSERA_BIN"], !override.isEmpty {
            result.append(URL(fileURLWithPath: override))
        }
        for argument in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            // On Linux the test bundle is `<bin>/TesseraPackageTests.xctest` (an executable);
            // on macOS it is a bundle inside `<bin>`. Walk up until a folder holds `tessera`.
            var dir = URL(fileURLWithPath: argument).deletingLastPathComponent()
            for _ in 0..<4 {
                result.append(dir.appendingPathComponent("tessera"))
                dir.deleteLastPathComponent()
            }
        }
        result.append(packageRoot.appendingPathComponent(".build/debug/tessera"))
        return result
    }

    /// The first candidate that exists and is executable, or nil.
    static var tesseraExecutable: URL? {
        tesseraCandidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// A tool from `PATH` (Foundation's `Process` wants an absolute path), or nil when missing.
    static func tool(_ name: String) -> URL? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        // Daemons such as nginx live in sbin, which a test environment's PATH may lack.
        for dir in ["/usr/sbin", "/sbin", "/usr/local/sbin"] {
            let candidate = URL(fileURLWithPath: dir).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Like `tool(_:)` but throws a clear error naming the package that provides it.
    static func requireTool(_ name: String, package: String) throws -> URL {
        guard let url = tool(name) else {
            throw HarnessError.missingTool("\(name) not found in PATH (install \(package); scripts/test does)")
        }
        return url
    }
}

/// Errors of the harness itself. Each carries enough context to debug a CI log without rerunning.
enum HarnessError: Error, CustomStringConvertible {
    case missingTool(String)
    case launchFailed(String)
    case timeout(String)
    case unexpectedExit(String)
    case mismatch(String)
    case portUnavailable(String)

    var description: String {
        switch self {
        case .missingTool(let s): return "missing tool: \(s)"
        case .launchFailed(let s): return "launch failed: \(s)"
        case .timeout(let s): return "timeout: \(s)"
        case .unexpectedExit(let s): return "unexpected exit: \(s)"
        case .mismatch(let s): return "mismatch: \(s)"
        case .portUnavailable(let s): return "port unavailable: \(s)"
        }
    }
}
