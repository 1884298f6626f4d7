"""Shared code of the Python interop peers (py_server.py, py_client.py; tlslite_*.py use read_exactly).

Both peers move a payload both ways at once over one TLS connection (a non-blocking select loop,
so neither side can deadlock on full TCP buffers), save what they received to a file for the
test to compare, and print one JSON line describing the connection:

  {"role": "server", "version": "TLSv1.2", "cipher": "ECDHE-ECDSA-AES128-GCM-SHA256",
   "sent": 1048576, "received": 1048576, "close_notify_received": true,
   "close_notify_sent": true, "error": null}

close_notify is checked strictly: sockets are wrapped with suppress_ragged_eofs=False, so a TCP
FIN without close_notify raises SSLEOFError instead of looking like a clean end.
Exit status 0 only when everything expected happened.
"""
import json
import select
import socket
import ssl
import sys
import time

CHUNK = 16384


def add_transfer_arguments(parser):
    """Where to connect and what to move: every peer (the tlslite ones too) takes these."""
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--send", required=True, help="file whose bytes are sent")
    parser.add_argument("--expect-bytes", type=int, required=True, help="bytes to receive")
    parser.add_argument("--out", required=True, help="file the received bytes are written to")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")


def add_common_arguments(parser):
    add_transfer_arguments(parser)
    parser.add_argument("--tls12", action="store_true", help="TLS 1.2 only")
    parser.add_argument("--ciphers", help="OpenSSL cipher list for TLS 1.2")


def configure(ctx, args):
    if args.tls12:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)


def duplex(sock, payload, expect, deadline):
    """Send `payload` and receive `expect` bytes at the same time. Returns the received bytes."""
    sock.setblocking(False)
    sent = 0
    received = bytearray()
    while sent < len(payload) or len(received) < expect:
        if time.monotonic() > deadline:
            raise TimeoutError(f"duplex: sent {sent}/{len(payload)}, received {len(received)}/{expect}")
        progressed = False
        if sent < len(payload):
            try:
                sent += sock.send(payload[sent:sent + CHUNK])
                progressed = True
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        if len(received) < expect:
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    raise EOFError(f"close_notify after only {len(received)}/{expect} bytes")
                received += chunk
                progressed = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if not progressed:
            writers = [sock] if sent < len(payload) else []
            select.select([sock], writers, [], 0.05)
    sock.setblocking(True)
    return bytes(received)


def describe(tls):
    """(version, cipher) right after the handshake; both are gone once unwrap() ran."""
    cipher = tls.cipher()
    return tls.version(), cipher[0] if cipher else None


def report(role, negotiated, sent, received, cn_received, cn_sent, error):
    version, cipher = negotiated
    info = {
        "role": role,
        "version": version,
        "cipher": cipher,
        "sent": sent,
        "received": received,
        "close_notify_received": cn_received,
        "close_notify_sent": cn_sent,
        "error": error,
    }
    print(json.dumps(info), flush=True)
    return info


def read_exactly(read, expect, deadline):
    """`expect` bytes from `read(max)`, a blocking read that returns b"" once the peer has closed."""
    received = bytearray()
    while len(received) < expect:
        if time.monotonic() > deadline:
            raise TimeoutError(f"received {len(received)}/{expect}")
        chunk = read(expect - len(received))
        if not chunk:
            raise EOFError(f"connection closed after {len(received)}/{expect} bytes")
        received += chunk
    return bytes(received)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def fail(message):
    print(message, file=sys.stderr, flush=True)
