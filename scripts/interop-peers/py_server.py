#!/usr/bin/env python3
"""Python `ssl` TLS server for the interop tests: one connection, then exit.

  py_server.py --port P --cert C --key K --send FILE --expect-bytes N --out FILE
               [--tls12] [--ciphers LIST] [--curve NAME] [--timeout S]

Listens on 127.0.0.1:P, accepts one client, sends FILE while receiving N bytes (saved to --out),
then waits for the client's close_notify and answers with its own (clean unwrap).
Prints one JSON line (see tlspeer_common.py); exit status 0 when all of that happened.
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
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--curve", help="the only ECDHE group, e.g. X25519, prime256v1, secp384r1")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    common.configure(ctx, args)
    if args.curve:
        ctx.set_ecdh_curve(args.curve)
    payload = common.read_file(args.send)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(1)
    listener.settimeout(args.timeout)

    negotiated = (None, None)
    sent = received = 0
    cn_received = cn_sent = False
    error = None
    try:
        conn, _ = listener.accept()
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        tls = ctx.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        negotiated = common.describe(tls)
        data = common.duplex(tls, payload, args.expect_bytes, deadline)
        sent, received = len(payload), len(data)
        common.write_file(args.out, data)
        # The client closes first: anything but a clean close_notify now is an error.
        tls.settimeout(max(1.0, deadline - time.monotonic()))
        extra = tls.recv(65536)
        if extra:
            raise RuntimeError(f"{len(extra)} bytes after the expected {args.expect_bytes}")
        cn_received = True
        try:
            tls.unwrap()  # sends our close_notify (theirs is already in)
            cn_sent = True
        except (OSError, ssl.SSLError) as e:  # the client may have closed TCP already
            common.fail(f"unwrap after client close_notify: {e!r}")
            cn_sent = False
    except Exception as e:  # report, do not crash: the JSON line is the contract
        error = f"{type(e).__name__}: {e}"
    finally:
        listener.close()
    common.report("server", negotiated, sent, received, cn_received, cn_sent, error)
    ok = error is None and received == args.expect_bytes and cn_received
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
