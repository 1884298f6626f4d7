#!/usr/bin/env python3
"""tlslite-ng TLS 1.3 client for the interop tests.

  tlslite_client.py --port P --send FILE --expect-bytes N --out FILE [--timeout S]

Connects to 127.0.0.1:P with tlslite.api.TLSConnection, TLS 1.3 only (HandshakeSettings
minVersion = maxVersion = (3, 4)), sends FILE, receives N bytes (saved to --out), then close()
(close_notify). Prints one JSON line:

  {"version": "TLS 1.3", "cipher": "aes128gcm", "sent": ..., "received": ..., "error": null}

Exit status 0 when everything was sent and received; 3 when tlslite cannot be imported.
"""
import argparse
import json
import socket
import sys
import time

sys.dont_write_bytecode = True
import tlspeer_common as common  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    common.add_transfer_arguments(parser)
    args = parser.parse_args()

    try:
        from tlslite.api import TLSConnection, HandshakeSettings
    except ImportError as e:
        print(json.dumps({"error": f"ImportError: {e}", "import_failed": True}), flush=True)
        sys.exit(3)

    with open(args.send, "rb") as f:
        payload = f.read()
    info = {"version": None, "cipher": None, "sent": 0, "received": 0, "error": None}
    deadline = time.monotonic() + args.timeout
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        conn = TLSConnection(sock)
        settings = HandshakeSettings()
        settings.minVersion = (3, 4)
        settings.maxVersion = (3, 4)
        conn.handshakeClientCert(settings=settings, serverName="localhost")
        version = conn.version
        info["version"] = "TLS 1.3" if tuple(version) == (3, 4) else repr(version)
        info["cipher"] = conn.getCipherName()
        conn.write(payload)
        info["sent"] = len(payload)
        received = common.read_exactly(lambda n: conn.read(max=n), args.expect_bytes, deadline)
        info["received"] = len(received)
        common.write_file(args.out, received)
        conn.close()
    except Exception as e:  # the JSON line is the contract
        info["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(info), flush=True)
    ok = info["error"] is None and info["received"] == args.expect_bytes and info["sent"] == len(payload)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
