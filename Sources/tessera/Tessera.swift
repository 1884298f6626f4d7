import ArgumentParser

@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "TLS tools in the manner of openssl: s_server, s_client, sess_id; ticket-key and resumption-check for operators.",
        subcommands: [SServer.self, SClient.self, SessID.self, TicketKeyCommand.self, ResumptionCheck.self]
    )
}
