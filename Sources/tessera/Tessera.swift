import ArgumentParser

@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "TLS 1.2 tools in the manner of openssl: s_server and s_client.",
        subcommands: [SServer.self, SClient.self]
    )
}
