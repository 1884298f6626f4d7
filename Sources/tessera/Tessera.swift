import ArgumentParser

@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "TLS 1.2/1.3 tools: s_server, s_client, sess_id."
    )
}
