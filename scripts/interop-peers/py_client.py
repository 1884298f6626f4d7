#!/usr/bin/env python3
"""Python `ssl` TLS client for the interop tests.

  py_client.py --port P --send FILE --expect-bytes N --out FILE
               [--cafile F | --insecure] [--servername localhost] [--tls12] [--ciphers LIST] [--timeout S]

Connects to 127.0.0.1:P, sends FILE while receiving N bytes (saved to --out), then closes:
unwrap() sends close_notify and waits for the server's. Prints one JSON line (see
tlspeer_common.py); exit status 0 when both close_notify went through.
"""
import argparse
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import tlspeer_common as common  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--cafile")
    parser.add_argument("--insecure", action="store_true", help="no certificate verification")
    parser.add_argument("--servername", default="localhost")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if args.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif args.cafile:
        ctx.load_verify_locations(args.cafile)
    else:
        ctx.load_default_certs()
    common.configure(ctx, args)
    payload = common.read_file(args.send)

    negotiated = (None, None)
    sent = received = 0
    cn_received = cn_sent = False
    error = None
    try:
        raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        tls = ctx.wrap_socket(raw, server_hostname=args.servername, suppress_ragged_eofs=False)
        negotiated = common.describe(tls)
        data = common.duplex(tls, payload, args.expect_bytes, deadline)
        sent, received = len(payload), len(data)
        common.write_file(args.out, data)
        tls.settimeout(max(1.0, deadline - time.monotonic()))
        tls.unwrap()  # close_notify out, and blocks until the server's close_notify comes back
        cn_sent = cn_received = True
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    common.report("client", negotiated, sent, received, cn_received, cn_sent, error)
    ok = error is None and received == args.expect_bytes and cn_received and cn_sent
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
