import ArgumentParser
import Foundation
import TesseraSessions
import TesseraWire

/// `tessera ticket-key`: nginx `ssl_session_ticket_key` files, for `s_server -ticket_key_file`
/// and nginx alike (DESIGN.md §5).
struct TicketKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket-key",
        abstract: "nginx session ticket key files.",
        subcommands: [Generate.self],
        helpNames: [.customLong("help", withSingleDash: true), .long, .short]
    )

    /// `tessera ticket-key generate -out F [-size 48|80]`: fresh random bytes in nginx's layout
    /// (48: name|AES-128 key|HMAC secret; 80: name|HMAC secret|AES-256 key), mode 0600, renamed
    /// into place so a server reloading at that moment never reads half a key.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a new nginx ticket key file (mode 0600).",
            helpNames: [.customLong("help", withSingleDash: true), .long, .short]
        )

        @Option(name: .customLong("out", withSingleDash: true), help: "The key file to write (replaced if it exists).")
        var out: String

        @Option(name: .customLong("size", withSingleDash: true), help: "48 (AES-128) or 80 (AES-256, default) bytes.")
        var size = 80

        func run() throws {
            guard size == 48 || size == 80 else {
                throw CommandError("-size takes 48 or 80, not \(size)")
            }
            let bytes = NginxTicketKeyFile.generate(size: size)
            do {
                try NginxTicketKeyFile.write(bytes, to: out)
            } catch {
                throw CommandError("cannot write \(out): \(error.message)")
            }
            let cipher = size == 48 ? "AES-128" : "AES-256"
            // The name is public (it leads every ticket); the secrets are never printed.
            Output.err("wrote \(size)-byte nginx ticket key file \(out) (\(cipher), key name \(Array(bytes.prefix(16)).hexString))\n")
        }
    }
}
