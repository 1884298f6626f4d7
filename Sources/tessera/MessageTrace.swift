import TesseraCore
import TesseraWire

/// Formats trace events the way OpenSSL 3's `-msg` prints them:
/// `<<< TLS 1.2, Handshake [length 0059], ServerHello` and a hex dump.
enum MessageTrace {
    static func format(_ event: TraceEvent) -> String {
        let arrow = event.direction == .sent ? ">>>" : "<<<"
        let length = String(event.bytes.count, radix: 16).leftPadded(to: 4)
        let head: String
        switch event.kind {
        case .recordHeader:
            head = "\(arrow) \(event.version.displayName), RecordHeader [length \(length)]"
        case .handshake(let type):
            head = "\(arrow) \(event.version.displayName), Handshake [length \(length)], \(type.displayName)"
        case .changeCipherSpec:
            head = "\(arrow) \(event.version.displayName), ChangeCipherSpec [length \(length)]"
        case .alert(let alert):
            head = "\(arrow) \(event.version.displayName), Alert [length \(length)], \(alert.level) \(alert.alertDescription)"
        case .applicationData:
            head = "\(arrow) \(event.version.displayName), ApplicationData [length \(length)]"
        }
        return head + "\n" + hexDump(event.bytes)
    }

    /// Sixteen bytes a line, indented by four spaces.
    static func hexDump(_ bytes: [UInt8]) -> String {
        var lines: [String] = []
        var index = 0
        while index < bytes.count {
            let line = bytes[index..<min(index + 16, bytes.count)]
            lines.append("    " + line.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " "))
            index += 16
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
