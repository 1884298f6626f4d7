import Foundation
import TesseraBenchSupport
import TesseraCore
import TesseraSessions
import TesseraWire

// Server handshakes for callgrind (run-callgrind.sh):
//
//   HandshakeProfile tessera|floor 12|13 N [full|resumed]
//
// `tessera` runs N handshakes of Tessera's in-memory pair (client and server alternating on this
// thread, as in the benchmarks), full or resumed from one session taken first; run-callgrind.sh
// counts only the server's side, by toggling collection on `ServerConnection.receive`. `floor`
// runs the matching floor's library calls N times (TesseraBenchSupport/Floors.swift) inside
// `profileFloorRun`, the floor's toggle. Two values of N are run and subtracted, so first-call
// costs (type metadata, lazy globals, the session's first handshake) drop out.

let arguments = CommandLine.arguments
let usage = "usage: HandshakeProfile tessera|floor 12|13 N [full|resumed]"
guard arguments.count == 4 || arguments.count == 5, let count = Int(arguments[3]), count > 0,
      let version: ProtocolVersion = arguments[2] == "12" ? .tls12 : arguments[2] == "13" ? .tls13 : nil,
      arguments.count == 4 || ["full", "resumed"].contains(arguments[4])
else {
    print(usage)
    exit(2)
}
let resumed = arguments.count == 5 && arguments[4] == "resumed"

/// The floor's handshakes, kept out of line so that callgrind can toggle on it by name.
@inline(never)
func profileFloorRun(_ work: any HandshakeFloorWork) -> Int {
    work.run()
}

switch arguments[1] {
case "tessera":
    let world = try TesseraWorld(version: version)
    var session: SessionState?
    if resumed {
        var first = TesseraPair(world, session: nil)
        try first.handshake()
        session = first.issued
    }
    var serverCPU: UInt64 = 0
    for _ in 0..<count {
        var pair = TesseraPair(world, session: session)
        try pair.checkedHandshake(version, resumed: resumed)
        serverCPU &+= pair.serverCPU
    }
    print("tessera TLS \(arguments[2]) \(resumed ? "resumed" : "full"): \(count) handshakes, server \(serverCPU / UInt64(count) / 1000) µs each")
case "floor":
    let work: any HandshakeFloorWork = switch (version == .tls12, resumed) {
    case (true, false): FullServerFloor()
    case (false, false): FullServerFloor13()
    case (true, true): ResumedServerFloor()
    case (false, true): ResumedServerFloor13()
    }
    var keep = 0
    for _ in 0..<count { keep &+= profileFloorRun(work) }
    print("floor TLS \(arguments[2]): \(count) handshakes (\(keep & 1))")
default:
    print(usage)
    exit(2)
}
