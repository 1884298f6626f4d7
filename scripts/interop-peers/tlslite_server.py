#!/usr/bin/env python3
"""tlslite-ng TLS server for the interop tests: N connections one after another, then exit.

  tlslite_server.py --port P --cert C --key K --send FILE --expect-bytes N --out FILE
                    [--connections N] [--tls12] [--timeout S]

Listens on 127.0.0.1:P. For each connection: handshake with tlslite.api.TLSConnection (TLS 1.3
only, or TLS 1.2 only with --tls12), session tickets on (a fresh ticket key per run, so a client
can resume on the next connection), receives N bytes (the last connection's are saved to --out)
while sending FILE, then waits for the client's close_notify and answers with its own.
Prints one JSON line per connection:

  {"connection": 1, "version": "TLS 1.3", "cipher": "aes128gcm", "resumed": false,
   "sent": ..., "received": ..., "close_notify_received": true, "error": null}

Exit status 0 when every connection did all of that; 3 when tlslite cannot be imported.
"""
import argparse
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
import tlspeer_common as common  # noqa: E402


def record_sent_message_types(conn):
    """The class names of the messages `conn` sends, in order (wraps its two send paths)."""
    sent = []
    queue, send = conn._queue_message, conn._sendMsg

    def queue_message(msg):
        sent.append(type(msg).__name__)
        return queue(msg)

    def send_message(msg, *args, **kwargs):
        sent.append(type(msg).__name__)
        return send(msg, *args, **kwargs)

    conn._queue_message, conn._sendMsg = queue_message, send_message
    return sent


def serve_one(listener, index, args, chain, key, settings, payload, deadline):
    from tlslite.api import TLSConnection

    info = {"connection": index, "version": None, "cipher": None, "resumed": None, "sent": 0,
            "received": 0, "close_notify_received": False, "error": None}
    sock = None
    try:
        sock, _ = listener.accept()
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        conn = TLSConnection(sock)
        sent_types = record_sent_message_types(conn)
        conn.handshakeServer(certChain=chain, privateKey=key, settings=settings)
        version = tuple(conn.version)
        info["version"] = {(3, 3): "TLS 1.2", (3, 4): "TLS 1.3"}.get(version, repr(version))
        info["cipher"] = conn.getCipherName()
        # tlslite's `resumed` stays False for a TLS 1.3 PSK handshake, so tell resumption by the
        # flight: a resumed handshake sends no Certificate.
        info["resumed"] = "Certificate" not in sent_types
        info["sent_messages"] = sent_types
        conn.write(payload)
        info["sent"] = len(payload)
        received = common.read_exactly(lambda n: conn.read(max=n), args.expect_bytes, deadline)
        info["received"] = len(received)
        common.write_file(args.out, received)
        # The client closes first: tlslite's read returns b"" on its close_notify.
        extra = conn.read()
        if extra:
            raise RuntimeError(f"{len(extra)} bytes after the expected {args.expect_bytes}")
        info["close_notify_received"] = True
        conn.close()  # our close_notify
    except Exception as e:  # the JSON line is the contract
        info["error"] = f"{type(e).__name__}: {e}"
    finally:
        if sock is not None:
            sock.close()
    print(json.dumps(info), flush=True)
    return info["error"] is None and info["received"] == args.expect_bytes and info["close_notify_received"]


def main():
    parser = argparse.ArgumentParser()
    common.add_transfer_arguments(parser)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--tls12", action="store_true")
    args = parser.parse_args()

    try:
        from tlslite.api import HandshakeSettings, X509CertChain, parsePEMKey
    except ImportError as e:
        print(json.dumps({"error": f"ImportError: {e}", "import_failed": True}), flush=True)
        sys.exit(3)

    with open(args.cert) as f:
        chain = X509CertChain()
        chain.parsePemList(f.read())
    with open(args.key) as f:
        key = parsePEMKey(f.read(), private=True)
    with open(args.send, "rb") as f:
        payload = f.read()
    settings = HandshakeSettings()
    version = (3, 3) if args.tls12 else (3, 4)
    settings.minVersion = version
    settings.maxVersion = version
    settings.ticketKeys = [os.urandom(32)]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(1)
    listener.settimeout(args.timeout)
    deadline = time.monotonic() + args.timeout
    ok = True
    try:
        for index in range(1, args.connections + 1):
            ok = serve_one(listener, index, args, chain, key, settings, payload, deadline) and ok
    finally:
        listener.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
