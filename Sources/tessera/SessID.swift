import ArgumentParser
import Foundation
import TesseraSessions

/// `tessera sess_id`: prints or converts a session file, as `openssl sess_id` does.
struct SessID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sess_id",
        abstract: "Print or convert a session file (PEM 'SSL SESSION PARAMETERS', OpenSSL's format).",
        helpNames: [.customLong("help", withSingleDash: true), .long, .short]
    )

    @Option(name: .customLong("in", withSingleDash: true), help: "The session file (PEM, or DER with -inform DER).")
    var input: String

    @Option(name: .customLong("inform", withSingleDash: true), help: "PEM or DER.")
    var inform = "PEM"

    @Option(name: .customLong("out", withSingleDash: true), help: "Write the session here.")
    var output: String?

    @Option(name: .customLong("outform", withSingleDash: true), help: "PEM or DER.")
    var outform = "PEM"

    @Flag(name: .customLong("text", withSingleDash: true), help: "Print the session's fields.")
    var text = false

    @Flag(name: .customLong("noout", withSingleDash: true), help: "Do not print the session itself.")
    var noout = false

    func run() throws {
        let session: SessionState
        do {
            guard let data = FileManager.default.contents(atPath: input) else {
                throw CommandError("cannot read \(input)")
            }
            if inform.uppercased() == "DER" {
                session = try SessionState(derEncoded: Array(data))
            } else {
                session = try SessionState(pemEncoded: String(decoding: data, as: UTF8.self))
            }
        } catch let error as SessionError {
            Output.err("tessera sess_id: \(input): \(error)\n")
            throw ExitCode(1)
        }
        if text { Output.out(Report.session(session)) }
        let der = outform.uppercased() == "DER"
        if let output {
            let bytes = der ? Data(session.derEncoded()) : Data(session.pemEncoded().utf8)
            guard FileManager.default.createFile(atPath: output, contents: bytes) else {
                throw CommandError("cannot write \(output)")
            }
        } else if !noout {
            if der {
                Output.outBytes(session.derEncoded())
            } else {
                Output.out(session.pemEncoded())
            }
        }
    }
}
