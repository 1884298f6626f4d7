#!/usr/bin/env python3
"""Where a server handshake's time goes, Tessera against its library floor, from `perf` samples.

    perf-attribution.py TESSERA.txt FLOOR.txt HANDSHAKES [TOP]

The inputs are `perf script -F ip,sym` outputs of `HandshakeProfile tessera ...` and
`HandshakeProfile floor ...` recorded with call graphs at one frequency (run-perf.sh does all of
it). Only samples under Tessera's `ServerConnection.receive` and under the floor's
`profileFloorRun` count, so Tessera's client is left out. Samples become microseconds per
handshake through the sampling period (1 / frequency), so both sides are read the same way.

Unlike callgrind's counts this is native time: it includes what an instruction count hides, the
atomic reference counting above all (each `swift_retain`/`swift_release` an atomic
read-modify-write) and cache misses on this machine's real caches. Three tables:

1. Library work: the same swift-crypto and swift-asn1 operations on both sides, each sample in
   one operation. They should match; a difference is cache state (Tessera's code and its client
   evict the library's). Figures are anchored on X25519 when both sides run it, to cancel the
   VM's drift between the two recordings.
2. Work outside the libraries, by the nearest Tessera function on the stack: what Tessera adds.
3. Leaf functions by their difference: which runtime functions (reference counting, allocation,
   memmove, exclusivity checks) Tessera's own code calls more than the floor's.
"""
import collections
import subprocess
import sys

# The stack is below one of these frames for a sample of the side to count.
ROOTS = {"tessera": "ServerConnectionV7receive", "floor": "profileFloorRun"}
# A sample with one of these frames on its stack is library work (a primitive and its wrapper).
LIBRARY_PREFIXES = ("$s6Crypto", "$s13_CryptoExtras", "$s12CryptoExtras", "$s19CryptoBoringWrapper",
                    "CCryptoBoringSSL", "$s9SwiftASN1", "$s13TesseraCrypto7HMACKey", "getentropy")
TESSERA_PREFIXES = ("$s11TesseraCore", "$s11TesseraWire", "$s13TesseraCrypto", "$s15TesseraSessions")
# Library operations, each sample counted once, in the first operation it falls under (so the
# hashing inside an HMAC counts as HMAC, not as a transcript hash).
OPERATIONS = [
    ("HMAC (key schedule, PRF, binders, ticket MAC)", ("HMACKey", "HMAC")),
    ("X25519", ("Curve25519",)),
    ("ECDSA / EdDSA / RSA signing", ("P256", "P384", "P521", "7Signing", "_RSA")),
    ("AES-GCM / ChaCha20-Poly1305 records", ("AESO3GCMO", "BoringSSLAEAD", "ChaChaPoly")),
    ("AES-CBC (ticket sealing)", ("_CBC",)),
    ("DER parse (swift-asn1)", ("$s9SwiftASN1",)),
    ("random bytes", ("getentropy", "RAND_bytes")),
    ("SHA-2 (transcript and other hashes)", ("OpenSSLDigestImpl", "Digest", "SHA256", "SHA384", "sha256", "sha512")),
]

def stacks(path, root):
    """The stacks (leaf first) under `root`, and how many samples the file holds in all."""
    selected, current, total = [], [], 0
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line.strip():
            if current:
                total += 1
                if any(root in frame for frame in current):
                    selected.append(current)
                current = []
            continue
        parts = line.strip().split(None, 1)
        current.append(parts[1] if len(parts) > 1 else "?")
    if current:
        total += 1
        if any(root in frame for frame in current):
            selected.append(current)
    return selected


def demangle(names):
    output = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(names),
                            capture_output=True, text=True).stdout.split("\n")
    return [output[index] if index < len(output) else names[index] for index in range(len(names))]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    tessera_path, floor_path, handshakes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    frequency = float(sys.argv[5]) if len(sys.argv) > 5 else 20000.0
    per_sample = 1e6 / frequency / handshakes  # µs per handshake that one sample stands for
    sides = {"tessera": stacks(tessera_path, ROOTS["tessera"]), "floor": stacks(floor_path, ROOTS["floor"])}
    us = {side: len(samples) * per_sample for side, samples in sides.items()}
    print(f"Server time per handshake from perf samples ({handshakes} handshakes each, "
          f"{len(sides['tessera'])} and {len(sides['floor'])} samples):")
    print(f"  Tessera {us['tessera']:.1f} µs, floor {us['floor']:.1f} µs, Tessera ÷ floor {us['tessera'] / max(us['floor'], 1e-9):.3f}")
    print()

    def operation(stack):
        for name, patterns in OPERATIONS:
            if any(p in frame for frame in stack for p in patterns):
                return name
        return None
    counts = {side: collections.Counter(operation(stack) for stack in samples) for side, samples in sides.items()}
    # The VM's speed drifts between the two recordings; X25519 is the same constant-time work on
    # both sides, so scaling Tessera's figures to the floor's X25519 time cancels the drift.
    anchor_t, anchor_f = counts["tessera"]["X25519"], counts["floor"]["X25519"]
    scale = anchor_f / anchor_t if anchor_t > 0.05 * len(sides["tessera"]) and anchor_f > 0.05 * len(sides["floor"]) else 1.0
    if scale != 1.0:
        print(f"  anchored on X25519 (Tessera's figures × {scale:.3f}): Tessera {us['tessera'] * scale:.1f} µs, "
              f"Tessera ÷ floor {us['tessera'] * scale / max(us['floor'], 1e-9):.3f}; the tables below are anchored")
        print()
    tessera_sample = per_sample * scale
    print("| library work (each sample once) | Tessera µs | floor µs | difference |")
    print("|---|---|---|---|")
    for name, _ in OPERATIONS:
        t, f = counts["tessera"][name] * tessera_sample, counts["floor"][name] * per_sample
        print(f"| {name} | {t:.2f} | {f:.2f} | {t - f:+.2f} |")
    print()

    def outside(samples):
        return [stack for stack in samples if not any(frame.startswith(LIBRARY_PREFIXES) for frame in stack)]
    rest = {side: outside(samples) for side, samples in sides.items()}
    print(f"Outside the libraries: Tessera {len(rest['tessera']) * tessera_sample:.2f} µs, "
          f"floor {len(rest['floor']) * per_sample:.2f} µs per handshake")
    print()
    nearest = collections.Counter()
    for stack in rest["tessera"]:
        nearest[next((frame for frame in stack if frame.startswith(TESSERA_PREFIXES)), "(no Tessera frame)")] += 1
    names = [name for name, _ in nearest.most_common(top)]
    print("| µs | nearest Tessera function (Tessera's samples outside the libraries) |")
    print("|---|---|")
    for name, readable in zip(names, demangle(names)):
        print(f"| {nearest[name] * tessera_sample:.2f} | `{readable[:110]}` |")
    print()

    leaves = {side: collections.Counter(stack[0] for stack in samples) for side, samples in sides.items()}
    keys = sorted(set(leaves["tessera"]) | set(leaves["floor"]),
                  key=lambda k: -(leaves["tessera"][k] * scale - leaves["floor"][k]))[:top]
    print("| leaf function | Tessera µs | floor µs | difference |")
    print("|---|---|---|---|")
    for key, readable in zip(keys, demangle(keys)):
        t, f = leaves["tessera"][key] * tessera_sample, leaves["floor"][key] * per_sample
        print(f"| `{readable[:90]}` | {t:.2f} | {f:.2f} | {t - f:+.2f} |")


if __name__ == "__main__":
    main()
