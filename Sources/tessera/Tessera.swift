import ArgumentParser

@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "TLS tools in the manner of openssl: s_server, s_client and sess_id.",
        subcommands: [SServer.self, SClient.self, SessID.self]
    )
}
