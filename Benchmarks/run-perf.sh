#!/usr/bin/env bash
# Native time per server handshake, Tessera against its library floor, attributed from `perf`
# samples (this VM has no hardware counters, but `perf record -e cpu-clock -g` works):
#
#   Benchmarks/run-perf.sh [12|13] [full|resumed] [N]   (defaults: 13, full, 20000; needs perf)
#
# Records HandshakeProfile's Tessera pair and its floor at 20 kHz with call graphs, keeps only the
# samples under Tessera's ServerConnection.receive and under the floor's profileFloorRun, and
# prints (tools/perf-attribution.py): the library operations both run, inclusive; the time outside
# the libraries by the nearest Tessera function; and the leaf functions Tessera spends more in
# (reference counting, allocation, copies). callgrind (run-callgrind.sh) counts instructions and
# simulated misses exactly; this shows what they cost here, atomic reference counts included.
# Samples are a statistic: runs of one build agree to a few percent per line.
set -euo pipefail
version="${1:-13}"
kind="${2:-full}"
count="${3:-20000}"
command -v perf >/dev/null || { echo "run-perf.sh: needs perf (apt-get install -y linux-perf)" >&2; exit 1; }
source "$(dirname "$0")/tools/handshake-profile.sh"
for side in tessera floor; do
  data="$results/perf-$side-$version-$kind.data"
  perf record -q -F 20000 -g -o "$data" "$binary" "$side" "$version" "$count" "$kind" >/dev/null 2>&1
  perf script -i "$data" -F ip,sym >"$results/perf-$side-$version-$kind.txt" 2>/dev/null
done
python3 "$here/tools/perf-attribution.py" "$results/perf-tessera-$version-$kind.txt" \
  "$results/perf-floor-$version-$kind.txt" "$count" "${TOP:-25}" 20000
