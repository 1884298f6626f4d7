#!/usr/bin/env bash
# Instructions, cache misses and branch mispredicts per server handshake, Tessera's against its
# library floor's, under callgrind's cache and branch simulation:
#
#   Benchmarks/run-callgrind.sh [12|13] [N] [full|resumed]   (defaults: 13, 40, full; needs valgrind)
#   SIDE=client Benchmarks/run-callgrind.sh ...              (Tessera's client instead: its totals alone)
#
# `resumed` runs ticket resumptions (RFC 5077 in TLS 1.2, psk_dhe_ke in TLS 1.3), all from one
# session, against the resumed floors (ResumedServerFloor, ResumedServerFloor13).
#
# Unlike time on this VM, these counts do not drift: two builds of the same code agree to about
# 1 % in L1 instruction misses (code layout moves a few), exactly in instructions. They resolve
# changes far below the paired benchmark's 2-3 % noise, and show what time alone does not: Tessera
# runs about 5 % more instructions than its floor but misses the L1 instruction cache about twice
# as often (Benchmarks/README.md, "Results, 2026-12-06 later").
#
# Each side runs N and N/4 handshakes; the difference, divided by the 3N/4 extra handshakes, is the
# steady-state cost per handshake (first-call costs such as type metadata drop out). Tessera's pair
# runs client and server alternately on one thread, and only `ServerConnection.receive` is
# counted; the floor runs its calls back to back, counted inside `profileFloorRun`.
# The simulated caches are valgrind's: the L1s and the last level of this machine. Raw outputs
# stay in Benchmarks/.build-results/callgrind-*.out for callgrind_annotate.
set -euo pipefail
version="${1:-13}"
count="${2:-40}"
kind="${3:-full}"
side="${SIDE:-server}"
case "$side" in server|client) ;; *) echo "run-callgrind.sh: SIDE is server or client, not $side" >&2; exit 2 ;; esac
case "$kind" in full) label="$version" ;; resumed) label="$version-resumed" ;; *) echo "run-callgrind.sh: full or resumed, not $kind" >&2; exit 2 ;; esac
small=$((count / 4))
command -v valgrind >/dev/null || { echo "run-callgrind.sh: needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
source "$(dirname "$0")/tools/handshake-profile.sh"
cp "$binary" "$results/HandshakeProfile"
binary="$results/HandshakeProfile"
strip -g "$binary"  # function-level symbols are enough, and callgrind reads them much faster

server_toggle='$s11TesseraCore16ServerConnectionV7receiveySayAA9TLSActionOG7NIOCore10ByteBufferVF'
client_toggles=('$s11TesseraCore16ClientConnectionV7receiveySayAA9TLSActionOG7NIOCore10ByteBufferVF'
                '$s11TesseraCore16ClientConnectionV14startHandshakeSayAA9TLSActionOGyF')
floor_toggle='*profileFloorRun*'
run() {  # output name, HandshakeProfile mode, n, functions to count under
  local name=$1 mode=$2 n=$3 toggles=()
  shift 3
  for function in "$@"; do toggles+=(--toggle-collect="$function"); done
  valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes "${toggles[@]}" \
    --callgrind-out-file="$results/callgrind-$name-$label-$n.out" "$binary" "$mode" "$version" "$n" "$kind" \
    >"$results/callgrind-$name-$label-$n.log" 2>&1
}
if [ "$side" = client ]; then
  run client tessera "$count" "${client_toggles[@]}" & run client tessera "$small" "${client_toggles[@]}" & wait
else
  run tessera tessera "$count" "$server_toggle" & run tessera tessera "$small" "$server_toggle" & wait
  run floor floor "$count" "$floor_toggle" & run floor floor "$small" "$floor_toggle" & wait
fi

python3 - "$results" "$version" "$count" "$small" "$kind" "$side" <<'PY'
import re, sys
results, version, count, small, kind, side = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
measured = "client" if side == "client" else "tessera"
run_label = version if kind == "full" else f"{version}-resumed"
names = {"Ir": "instructions", "I1mr": "L1 instruction misses", "D1mr": "L1 data read misses",
         "D1mw": "L1 data write misses", "Bcm": "conditional branch mispredicts", "Bim": "indirect branch mispredicts"}
def totals(side, n):
    events = summary = None
    for line in open(f"{results}/callgrind-{side}-{run_label}-{n}.out"):
        if line.startswith("events:"): events = line.split()[1:]
        if line.startswith("summary:") or line.startswith("totals:"): summary = [int(x) for x in line.split()[1:]]
    return dict(zip(events, summary))
per = {}
for name in ((measured,) if side == "client" else ("tessera", "floor")):
    big, little = totals(name, count), totals(name, small)
    per[name] = {k: (big[k] - little.get(k, 0)) / (count - small) for k in names}
print(f"TLS 1.{version[1]} {kind} {side} handshake, per handshake (steady state, {count - small} handshakes)")
print()
if side == "client":
    # The client has no library floor: its totals alone, to compare builds.
    print("| | Tessera client |")
    print("|---|---|")
    for key, label in names.items():
        print(f"| {label} | {per['client'][key]:,.0f} |")
else:
    print("| | Tessera | floor | Tessera ÷ floor |")
    print("|---|---|---|---|")
    for key, label in names.items():
        t, f = per["tessera"][key], per["floor"][key]
        print(f"| {label} | {t:,.0f} | {f:,.0f} | {t / f:.2f}× |" if f else f"| {label} | {t:,.0f} | {f:,.0f} | — |")

# Tessera's own functions with the most L1 instruction misses per handshake (TOP, default 15).
import collections, os, subprocess
top = int(os.environ.get("TOP", "15"))
def functions(n):
    out = subprocess.run(["callgrind_annotate", "--show=Ir,I1mr", "--threshold=100", f"{results}/callgrind-{measured}-{run_label}-{n}.out"],
                         capture_output=True, text=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+([\d,]+|\.)\s*(?:\([^)]*\))?\s+\S+:(\S+)", line)
        if m and "Tessera" in m.group(3):
            costs[m.group(3)] = (int(m.group(1).replace(",", "")), 0 if m.group(2) == "." else int(m.group(2).replace(",", "")))
    return costs
if top > 0:
    big, little = functions(count), functions(small)
    rows = []
    for name, (ir, misses) in big.items():
        ir0, misses0 = little.get(name, (0, 0))
        rows.append(((misses - misses0) / (count - small), (ir - ir0) / (count - small), name))
    rows.sort(reverse=True)
    rows = rows[:top]
    demangled = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(r[2] for r in rows),
                               capture_output=True, text=True).stdout.splitlines()
    print()
    print(f"Tessera's functions with the most L1 instruction misses per handshake (top {top}; TOP=N to change)")
    print()
    print("| L1i misses | instructions | function |")
    print("|---|---|---|")
    for (misses, ir, _), name in zip(rows, demangled):
        print(f"| {misses:,.0f} | {ir:,.0f} | `{name[:100]}` |")
PY
