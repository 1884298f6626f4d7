import Foundation
import TesseraBenchSupport
import TesseraCore
import TesseraWire

// Full server handshakes for callgrind (run-callgrind.sh):
//
//   HandshakeProfile tessera|floor 12|13 N
//
// `tessera` runs N full handshakes of Tessera's in-memory pair (client and server alternating on
// this thread, as in the benchmarks); run-callgrind.sh counts only the server's side, by toggling
// collection on `ServerConnection.receive`. `floor` runs the full-handshake floor's library calls
// N times (TesseraBenchSupport/Floors.swift) inside `profileFloorRun`, the floor's toggle. Two
// values of N are run and subtracted, so first-call costs (type metadata, lazy globals) drop out.

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[3]), count > 0,
      let version: ProtocolVersion = arguments[2] == "12" ? .tls12 : arguments[2] == "13" ? .tls13 : nil
else {
    print("usage: HandshakeProfile tessera|floor 12|13 N")
    exit(2)
}

/// The floor's handshakes, kept out of line so that callgrind can toggle on it by name.
@inline(never)
func profileFloorRun(_ work: any HandshakeFloorWork) -> Int {
    work.run()
}

switch arguments[1] {
case "tessera":
    let world = try TesseraWorld(version: version)
    var serverCPU: UInt64 = 0
    for _ in 0..<count {
        var pair = TesseraPair(world, session: nil)
        try pair.checkedHandshake(version, resumed: false)
        serverCPU &+= pair.serverCPU
    }
    print("tessera TLS \(arguments[2]): \(count) handshakes, server \(serverCPU / UInt64(count) / 1000) µs each")
case "floor":
    let work: any HandshakeFloorWork = version == .tls12 ? FullServerFloor() : FullServerFloor13()
    var keep = 0
    for _ in 0..<count { keep &+= profileFloorRun(work) }
    print("floor TLS \(arguments[2]): \(count) handshakes (\(keep & 1))")
default:
    print("usage: HandshakeProfile tessera|floor 12|13 N")
    exit(2)
}
