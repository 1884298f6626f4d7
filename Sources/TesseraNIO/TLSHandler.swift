import Foundation
import NIOCore
import NIOTLS
import TesseraCore
import TesseraCrypto
import TesseraSessions

/// Fired as a user event when the handshake completes, with everything it negotiated.
public struct TLSHandshakeCompletedEvent: Sendable {
    public var summary: HandshakeSummary
}

/// Send this as a user outbound event to a client handler to renegotiate (TLS 1.2, RFC 5746).
public struct TLSRenegotiationRequest: Sendable {
    public init() {}
}

/// Send this as a user outbound event to update TLS 1.3 traffic keys (RFC 8446 §4.6.3).
public struct TLSKeyUpdateRequest: Sendable {
    public var requestPeerUpdate: Bool
    public init(requestPeerUpdate: Bool) { self.requestPeerUpdate = requestPeerUpdate }
}

/// Fired as a user event on a client: store or drop the session for this server.
public enum TLSSessionEvent: Sendable {
    /// A new or renewed session (only after the server's Finished verified).
    case issued(SessionState)
    /// The offered session was not resumed.
    case rejected
}

/// A SwiftNIO handler that runs a sans-I/O connection: ciphertext below, plaintext above.
/// Use it through `TLSServerHandler` and `TLSClientHandler`, shaped like swift-nio-ssl's.
///
/// Application writes are encrypted when written and sent on the next flush, so several writes
/// followed by one flush leave together; handshake messages and close_notify are flushed at once.
public final class TLSHandler<Connection: TLSConnectionProtocol>: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var connection: Connection
    private let tlsContext: TLSContext
    private let serverHostname: String?
    /// Client: the store entry this connection resumes from and updates.
    private let sessionKey: SessionKey?
    /// Write promises for data accepted before the handshake completed.
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private var closePromise: EventLoopPromise<Void>?
    private var started = false
    private var finished = false

    init(connection: Connection, context: TLSContext, serverHostname: String?, sessionKey: SessionKey? = nil) {
        self.connection = connection
        self.tlsContext = context
        self.serverHostname = serverHostname
        self.sessionKey = sessionKey
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        perform(connection.startHandshake(), context: context)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        perform(connection.receive(bytes), context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if !connection.isHandshakeComplete, !finished {
            finished = true
            failPending(TLSError(.closed, "connection closed during the handshake"))
            context.fireErrorCaught(TLSError(.closed, "connection closed during the handshake"))
        } else {
            failPending(TLSError(.closed, "connection closed"))
        }
        context.fireChannelInactive()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data)
        let wasComplete = connection.isHandshakeComplete
        let actions = connection.sendApplicationData(bytes)
        // Records go out on the application's flush, as a write without flush means in NIO: an
        // HTTP head, body and end written then flushed leave in one system call, not three.
        if wasComplete {
            perform(actions, context: context, writePromise: promise, flush: false)
        } else {
            if let promise { pendingPromises.append(promise) }
            perform(actions, context: context, flush: false)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        context.flush()
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is TLSRenegotiationRequest {
            perform(connection.renegotiate(), context: context)
        } else if let update = event as? TLSKeyUpdateRequest {
            perform(connection.updateKeys(requestPeerUpdate: update.requestPeerUpdate), context: context)
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
    }

    /// Sends close_notify, then closes the channel (RFC 5246 §7.2.1 lets us not wait for the
    /// peer's).
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all || mode == .output, !connection.isClosed else {
            context.close(mode: mode, promise: promise)
            return
        }
        let actions = connection.close()
        perform(actions, context: context)
        context.close(mode: .all, promise: promise)
    }

    // MARK: Actions

    /// Carries out the core's actions. `flush`: flush what was written at the end (handshake and
    /// close traffic); application writes leave that to the application's own flush.
    private func perform(
        _ actions: [TLSAction], context: ChannelHandlerContext, writePromise: EventLoopPromise<Void>? = nil, flush: Bool = true
    ) {
        var wrote = false
        var writePromise = writePromise
        for action in actions {
            switch action {
            case .send(let bytes):
                context.write(wrapOutboundOut(bytes), promise: writePromise)
                writePromise = nil
                wrote = true
            case .verifyPeer(let request):
                verify(request, context: context)
            case .handshakeCompleted(let summary):
                if wrote { context.flush(); wrote = false }
                if Connection.self == ServerConnection.self { tlsContext.metrics?.record(summary) }
                let promises = pendingPromises
                pendingPromises.removeAll()
                promises.forEach { $0.succeed() }
                context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: summary.alpn))
                context.fireUserInboundEventTriggered(TLSHandshakeCompletedEvent(summary: summary))
            case .sessionIssued(let session):
                if let sessionKey { tlsContext.sessionStore.store(session, for: sessionKey) }
                context.fireUserInboundEventTriggered(TLSSessionEvent.issued(session))
            case .sessionRejected:
                // A TLS 1.3 ticket was taken out when offered; a refused TLS 1.2 session goes.
                if let sessionKey, tlsContext.sessionStore.session(for: sessionKey)?.version != .tls13 {
                    tlsContext.sessionStore.remove(for: sessionKey)
                }
                context.fireUserInboundEventTriggered(TLSSessionEvent.rejected)
            case .applicationData(let data):
                context.fireChannelRead(wrapInboundOut(data))
            case .alertReceived(let alert):
                context.fireUserInboundEventTriggered(alert)
            case .trace(let event):
                tlsContext.trace?(event)
            case .closed(let error):
                if wrote { context.flush(); wrote = false }
                finished = true
                if let error {
                    failPending(error)
                    context.fireErrorCaught(error)
                } else {
                    context.fireUserInboundEventTriggered(TLSUserEvent.shutdownCompleted)
                }
                context.close(promise: nil)
            }
        }
        writePromise?.succeed()
        if wrote, flush { context.flush() }
    }

    private func verify(_ request: PeerVerificationRequest, context: ChannelHandlerContext) {
        guard let verifier = tlsContext.verifier else {
            perform(connection.peerVerificationCompleted(
                VerificationResult(isValid: true, code: 0, message: "ok")), context: context)
            return
        }
        let now = tlsContext.configuration.clock.now()
        let promise = context.eventLoop.makePromise(of: VerificationResult.self)
        promise.completeWithTask {
            await verifier.verify(chain: request.chain, hostname: request.hostname, at: now, purpose: request.purpose)
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { result in
            let (handler, context) = loopBound.value
            handler.perform(handler.connection.peerVerificationCompleted(result), context: context)
        }
    }

    private func failPending(_ error: Error) {
        let promises = pendingPromises
        pendingPromises.removeAll()
        promises.forEach { $0.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}

public typealias TLSServerHandler = TLSHandler<ServerConnection>
public typealias TLSClientHandler = TLSHandler<ClientConnection>

extension TLSHandler where Connection == ServerConnection {
    public convenience init(context: TLSContext) {
        self.init(connection: context.makeServerConnection(), context: context, serverHostname: nil)
    }
}

extension TLSHandler where Connection == ClientConnection {
    /// Resumes from, and keeps up to date, the context's session store entry for
    /// `serverHostname` and `port`.
    public convenience init(context: TLSContext, serverHostname: String, port: Int) {
        let key = SessionKey(serverName: serverHostname, port: port)
        self.init(
            connection: context.makeClientConnection(
                serverHostname: serverHostname, session: context.sessionStore.takeSession(for: key), earlyData: nil),
            context: context, serverHostname: serverHostname, sessionKey: key)
    }

    /// `serverHostname` goes into SNI and is checked against the certificate (RFC 6125).
    /// `session` is a stored session to resume (see `TLSSessionEvent` for the new one).
    public convenience init(context: TLSContext, serverHostname: String?, session: SessionState? = nil, earlyData: ByteBuffer? = nil) {
        self.init(
            connection: context.makeClientConnection(serverHostname: serverHostname, session: session, earlyData: earlyData),
            context: context, serverHostname: serverHostname)
    }
}
