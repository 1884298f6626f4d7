#!/usr/bin/env bash
# Allocations over glibc's thread-cache limit per handshake, with where they come from:
#   Benchmarks/run-large-mallocs.sh [12|13] [full|resumed] [N]   (defaults: 13, full, 100)
#
# glibc keeps freed chunks of up to 1032 usable bytes in a per-thread cache; a larger malloc takes
# the large-bin path of _int_malloc (and its free _int_free's), about 2 000 instructions and 40
# L1i misses a time. swift-asn1's DER.Serializer reserved exactly such a buffer (1 024 bytes plus
# the array header) for every ticket and signature. HandshakeProfile runs client and server in one
# process, so both sides' allocations are listed: read the stacks (the server's pass through
# ServerConnection, the client's through ClientConnection).
set -euo pipefail
version="${1:-13}"
kind="${2:-full}"
count="${3:-100}"
source "$(dirname "$0")/tools/handshake-profile.sh"
shim="$results/large-mallocs.so"
cc -O2 -shared -fPIC -o "$shim" "$here/tools/large-mallocs.c" -ldl
for side in tessera floor; do
  log="$results/large-mallocs-$side-$version-$kind.txt"
  LARGE_MALLOCS_OUT="$log" LD_PRELOAD="$shim" "$binary" "$side" "$version" "$count" "$kind" >/dev/null
  touch "$log"
  python3 - "$log" "$binary" "$side" "$count" <<'PY'
import collections, subprocess, sys
log, binary, side, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
stacks = collections.Counter(tuple(line.split()[:24]) for line in open(log))
print(f"{side}: {sum(stacks.values()) / count:.2f} allocations over the thread cache per handshake")
def name(frame):
    if not frame.startswith("+"):
        return frame
    raw = subprocess.run(["addr2line", "-f", "-e", binary, hex(int(frame[1:], 16) - 1)],
                         capture_output=True, text=True).stdout.split("\n")[0]
    return subprocess.run(["swift", "demangle", "--simplified", raw], capture_output=True, text=True).stdout.strip()
for stack, seen in stacks.most_common(8):
    if seen < count // 2:
        continue
    frames = [name(f) for f in stack[1:]]
    # The allocating frame after swift_allocObject, and the first caller in Tessera or the floor.
    inner = [f for f in frames if not f.startswith("swift_") and "ContiguousArray" not in f and "_createNewBuffer" not in f]
    caller = next((f for f in frames if any(k in f for k in ("Tessera", "Floor", "Connection"))), None)
    shown = inner[:1] + ([caller] if caller and caller not in inner[:1] else [])
    print(f"  {seen / count:5.2f} × {stack[0]} bytes: " + " < ".join(x.split(" ---> ")[-1][:80] for x in shown))
PY
done
