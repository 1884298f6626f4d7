#!/usr/bin/env bash
# One run of everything that is compared: OpenSSL's program (run-openssl.sh) and the Swift
# benchmarks (`swift package benchmark`, Tessera and swift-nio-ssl), back to back, then one table
# of p50 thread-CPU figures with the ratios Tessera ÷ swift-nio-ssl and Tessera ÷ OpenSSL per line,
# and the issues' targets checked.
#
#   Benchmarks/run-all.sh [handshakes] [records]   (passed to run-openssl.sh; defaults 2000 20000)
#
# The Swift benchmarks run REPEAT times (default 3) and OpenSSL's program once before and once
# after each of them; every figure is the median over those runs (this VM's speed drifts by tens
# of percent within minutes, so one run of each, minutes apart, can be off by that much).
# The Swift side is read from `--format jmh`: for each benchmark, the p50 over its iterations of
# the custom `client CPU (ns)` / `server CPU (ns)` / `heap per connection (B)` metrics; totals are
# the sum of the client and server figures. Raw output stays in Benchmarks/.build-results/
# (openssl-N.txt, run-N.jmh.json, swift-benchmark-N.log). SKIP_SWIFT=1 re-prints the table
# from those files without running anything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
results="$here/.build-results"
mkdir -p "$results"
REPEAT="${REPEAT:-3}"

if [ "${SKIP_SWIFT:-0}" != 1 ]; then
  rm -f "$results"/*.jmh.json "$results"/openssl-*.txt
  echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$results/load.txt"
  "$here/run-openssl.sh" "$@" | tee "$results/openssl-0.txt"
  for run in $(seq 1 "$REPEAT"); do
    (cd "$here" && swift package --allow-writing-to-package-directory benchmark \
       --filter '.*(full handshake|resumed handshake|16KiB record|heap per connection|chain verification|full handshake server|record open)' \
       --format jmh --path "$results" > "$results/swift-benchmark-$run.log" 2>&1) \
      || { tail -20 "$results/swift-benchmark-$run.log"; exit 1; }
    mv "$results/Current_run.jmh.json" "$results/run-$run.jmh.json"
    # OpenSSL after every Swift run: this VM's speed drifts (steal time, neighbours), so each
    # column is the median over runs spread across the same stretch of time.
    "$here/run-openssl.sh" "$@" > "$results/openssl-$run.txt"
    echo "== run $run of $REPEAT done, load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
  echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/load.txt"
fi

python3 - "$results" <<'PY'
import glob, json, sys

results = sys.argv[1]
import statistics

def read_openssl(path):
    values = {}
    for line in open(path):
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            values[parts[0]] = float(parts[1])
    return values

openssl_runs = [read_openssl(p) for p in sorted(glob.glob(f"{results}/openssl-*.txt"))]
if not openssl_runs:
    sys.exit("run-all.sh: no OpenSSL output in .build-results")
ossl = {k: statistics.median(r[k] for r in openssl_runs if k in r) for k in openssl_runs[0]}

jmh_files = sorted(glob.glob(f"{results}/run-*.jmh.json"))
if not jmh_files:
    sys.exit("run-all.sh: no JMH output from swift package benchmark (see .build-results/swift-benchmark-N.log)")
swift_runs = []
for path in jmh_files:
    run = {}
    for element in json.load(open(path)):
        name = element["benchmark"].split(".", 3)[-1].replace("_", " ")  # package.benchmark.<target>.<name>
        metrics = {k: v["scorePercentiles"]["50.0"] for k, v in (element.get("secondaryMetrics") or {}).items()}
        metrics["throughput"] = element["primaryMetric"]["scorePercentiles"]["50.0"]
        run[name] = metrics
    swift_runs.append(run)
swift = {}
for name in swift_runs[0]:
    swift[name] = {m: statistics.median(r[name][m] for r in swift_runs if name in r and m in r[name])
                   for m in swift_runs[0][name]}

def sw(bench, metric):
    m = swift.get(bench)
    if m is None or metric not in m:
        return None
    return m[metric]

def side(bench, which):
    if which == "total":
        c, s = sw(bench, "client CPU (ns)"), sw(bench, "server CPU (ns)")
        return None if c is None or s is None else c + s
    return sw(bench, f"{which} CPU (ns)")

def os_(key):
    return ossl.get(key)

# (label, Tessera, swift-nio-ssl, OpenSSL, unit)
rows = []
for which in ("server", "client", "total"):
    rows.append((f"TLS 1.2 full handshake, {which}", side("Tessera TLS1.2 full handshake", which),
                 side("NIOSSL TLS1.2 full handshake", which), os_(f"tls12_full_handshake_{which}_cpu"), "ns"))
for which in ("server", "client", "total"):
    rows.append((f"TLS 1.2 ticket-resumed, {which}", side("Tessera TLS1.2 resumed handshake", which),
                 None, os_(f"tls12_resumed_handshake_{which}_cpu"), "ns"))
rows.append(("16 KiB AES-128-GCM record, seal (client)", side("Tessera TLS1.2 AES-128-GCM 16KiB record", "client"),
             side("NIOSSL TLS1.2 AES-128-GCM 16KiB record", "client"), os_("tls12_aes128gcm_16k_record_client_cpu"), "ns"))
rows.append(("16 KiB AES-128-GCM record, open (server)", side("Tessera TLS1.2 AES-128-GCM 16KiB record", "server"),
             side("NIOSSL TLS1.2 AES-128-GCM 16KiB record", "server"), os_("tls12_aes128gcm_16k_record_server_cpu"), "ns"))
rows.append(("heap per established connection", sw("Tessera TLS1.2 heap per connection", "heap per connection (B)"),
             sw("NIOSSL TLS1.2 heap per connection", "heap per connection (B)"), os_("tls12_heap_per_connection"), "B"))
for which in ("server", "client", "total"):
    rows.append((f"TLS 1.3 full handshake, {which}", side("Tessera TLS1.3 full handshake", which),
                 side("NIOSSL TLS1.3 full handshake", which), os_(f"tls13_full_handshake_{which}_cpu"), "ns"))
for which in ("server", "client", "total"):
    # swift-nio-ssl cannot resume: its column is its full handshake, what a Swift client pays today.
    rows.append((f"TLS 1.3 ticket-resumed, {which} (nio-ssl: full)", side("Tessera TLS1.3 resumed handshake", which),
                 side("NIOSSL TLS1.3 full handshake", which), os_(f"tls13_resumed_handshake_{which}_cpu"), "ns"))
# Library floors (Floors.swift): swift-crypto/swift-asn1 calls alone, no TLS code; in the Tessera column.
rows.append(("library floor: TLS 1.2 full server's crypto calls", side("swift-crypto floor TLS1.2 server full handshake", "server"),
             side("NIOSSL TLS1.2 full handshake", "server"), os_("tls12_full_handshake_server_cpu"), "ns"))
rows.append(("library floor: TLS 1.3 full server's crypto calls", side("swift-crypto floor TLS1.3 server full handshake", "server"),
             side("NIOSSL TLS1.3 full handshake", "server"), os_("tls13_full_handshake_server_cpu"), "ns"))
rows.append(("library floor: TLS 1.2 resumed server's crypto and DER calls", side("swift-crypto floor TLS1.2 server resumed handshake", "server"),
             None, os_("tls12_resumed_handshake_server_cpu"), "ns"))
rows.append(("library floor: TLS 1.3 resumed server's crypto and DER calls", side("swift-crypto floor TLS1.3 server resumed handshake", "server"),
             None, os_("tls13_resumed_handshake_server_cpu"), "ns"))
rows.append(("library floor: swift-crypto open of a 16 KiB record", side("swift-crypto floor AES-128-GCM open 16KiB record", "server"),
             side("NIOSSL TLS1.2 AES-128-GCM 16KiB record", "server"), os_("tls12_aes128gcm_16k_record_server_cpu"), "ns"))
# An async benchmark: its process-CPU metric has 10 ms ticks, so wall clock (p50, μs in JMH).
verify = sw("Tessera chain verification", "Time (wall clock)")

def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "B":
        return f"{v/1000:.1f} KB" if v >= 1000 else f"{v:.0f} B"
    return f"{v/1000:.1f} µs" if v >= 1000 else f"{v:.0f} ns"

def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a/b:.2f}×"

print()
print(f"| | Tessera | swift-nio-ssl | OpenSSL | Tessera ÷ nio-ssl | Tessera ÷ OpenSSL |")
print(f"|---|---|---|---|---|---|")
byname = {}
for label, t, n, o, unit in rows:
    byname[label] = (t, n, o)
    print(f"| {label} | {fmt(t, unit)} | {fmt(n, unit)} | {fmt(o, unit)} | {ratio(t, n)} | {ratio(t, o)} |")
if verify is not None:
    print(f"\nTessera chain verification alone (what its client skips above; swift-nio-ssl's and OpenSSL's clients verify): {verify:.1f} µs p50 wall clock")
total_keys = [k for k in ossl if k.endswith("_total_cpu")]
print(f"Medians over {len(swift_runs)} Swift run(s) and {len(openssl_runs)} OpenSSL run(s). Spread (max ÷ min over the runs) of "
      "OpenSSL's handshake totals: " + ", ".join(
          f"{k.replace('_handshake_total_cpu', '')} {max(r[k] for r in openssl_runs) / min(r[k] for r in openssl_runs):.2f}"
          for k in total_keys))
if len(swift_runs) > 1:
    parts = []
    for name in sorted(swift):
        vals = [r[name]["server CPU (ns)"] for r in swift_runs if name in r and "server CPU (ns)" in r[name]]
        # The paired benchmarks record ratios only; the exporter lists every custom metric for
        # every benchmark, so their "server CPU (ns)" is not theirs.
        if "handshake" in name and not name.startswith("Paired") and len(vals) > 1 and min(vals) > 0:
            parts.append(f"{name} {max(vals) / min(vals):.2f}")
    print("Spread (max ÷ min over the runs) of the Swift server CPU p50s: " + ", ".join(parts))
tickets = [os_("tls13_full_handshake_tickets"), os_("tls13_resumed_handshake_tickets")]
print(f"OpenSSL TLS 1.3 NewSessionTickets read per handshake: full {tickets[0]}, resumed {tickets[1]} "
      "(Tessera checks 2 and 1 on every iteration; BoringSSL sends 2 by default)")

def target(label, value, limit, smaller_is_met=True, what=""):
    if value is None:
        print(f"| {label} | — | {what} | not measured |")
        return
    met = value <= limit if smaller_is_met else value >= limit
    print(f"| {label} | {value:.2f}× | {what} | {'met' if met else 'NOT met'} |")

def paired(version, who, busy=False):
    # Paired.swift: p50 of per-iteration ratios (thousandths of swift-nio-ssl's server CPU); `busy`:
    # the busy-server form, 8 connections advanced in step (Benchmarks/README.md, "Busy server").
    suffix, prefix = (", busy", "busy ") if busy else ("", "")
    v = sw(f"Paired {version} full handshake server{suffix}", f"{prefix}{who} ÷ nio-ssl server (‰)")
    return None if v is None else v / 1000

def paired_resumed(version, who, busy=False):
    # Paired.swift: p50 of per-iteration ratios (thousandths of OpenSSL's server CPU, in-process).
    suffix, prefix = (", busy", "busy ") if busy else ("", "")
    v = sw(f"Paired {version} resumed handshake server{suffix}", f"{prefix}{who} ÷ OpenSSL server (‰)")
    return None if v is None else v / 1000

def r(label, col):
    t, n, o = byname[label]
    other = n if col == "n" else o
    return None if t is None or other is None or other == 0 else t / other

print()
print("| target | measured | needed | |")
print("|---|---|---|---|")
target("TLS 1.2 full handshake, server CPU vs nio-ssl, paired (Paired.swift), warm", paired("TLS1.2", "Tessera"), 1.2, what="≤ 1.20×")
target("  the same for the library calls alone (floor), warm", paired("TLS1.2", "floor"), 1.2, what="≤ 1.20×")
target("  paired, each after another library's handshake (cold), Tessera", paired("TLS1.2", "cold Tessera"), 1.2, what="≤ 1.20×")
target("  paired, cold, the floor", paired("TLS1.2", "cold floor"), 1.2, what="≤ 1.20×")
target("  busy server (8 connections in step), Tessera", paired("TLS1.2", "Tessera", busy=True), 1.2, what="≤ 1.20×")
target("  busy server, the floor", paired("TLS1.2", "floor", busy=True), 1.2, what="≤ 1.20×")
target("  unpaired (²), Tessera", r("TLS 1.2 full handshake, server", "n"), 1.2, what="≤ 1.20×")
target("  unpaired (²), the floor", r("library floor: TLS 1.2 full server's crypto calls", "n"), 1.2, what="≤ 1.20×")
v = sw("Paired TLS1.2 AES-128-GCM 16KiB record open", "Tessera open throughput ÷ nio-ssl (‰)")
target("16 KiB open, Tessera throughput vs nio-ssl, paired (Paired.swift)", None if v is None else v / 1000, 1.0, False, "≥ 1.00×")
v = sw("Paired TLS1.2 AES-128-GCM 16KiB record open", "floor open throughput ÷ nio-ssl (‰)")
target("  the same for swift-crypto's open alone (floor)", None if v is None else v / 1000, 1.0, False, "≥ 1.00×")
t, n, _ = byname["16 KiB AES-128-GCM record, open (server)"]
target("  unpaired (²), Tessera", None if not t or not n else n / t, 1.0, False, "≥ 1.00×")
f, n, _ = byname["library floor: swift-crypto open of a 16 KiB record"]
target("  unpaired (²), the floor", None if not f or not n else n / f, 1.0, False, "≥ 1.00×")
target("TLS 1.2 resumed, server CPU vs OpenSSL, paired (Paired.swift), warm", paired_resumed("TLS1.2", "Tessera"), 0.5, what="≤ 0.50× (2× faster)")
target("  the same for the library calls alone (floor), warm", paired_resumed("TLS1.2", "floor"), 0.5, what="≤ 0.50× (2× faster)")
target("  paired, each after another library's handshake (cold), Tessera", paired_resumed("TLS1.2", "cold Tessera"), 0.5, what="≤ 0.50× (2× faster)")
target("  paired, cold, the floor", paired_resumed("TLS1.2", "cold floor"), 0.5, what="≤ 0.50× (2× faster)")
target("  busy server (8 connections in step), Tessera", paired_resumed("TLS1.2", "Tessera", busy=True), 0.5, what="≤ 0.50× (2× faster)")
target("  busy server, the floor", paired_resumed("TLS1.2", "floor", busy=True), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.2 resumed, total CPU vs OpenSSL (²)", r("TLS 1.2 ticket-resumed, total", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("  unpaired (²), server CPU vs OpenSSL", r("TLS 1.2 ticket-resumed, server", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("  unpaired (²), the floor", r("library floor: TLS 1.2 resumed server's crypto and DER calls", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.3 full handshake, server CPU vs nio-ssl, paired (Paired.swift), warm", paired("TLS1.3", "Tessera"), 1.2, what="≤ 1.20×")
target("  the same for the library calls alone (floor), warm", paired("TLS1.3", "floor"), 1.2, what="≤ 1.20×")
target("  paired, each after another library's handshake (cold), Tessera", paired("TLS1.3", "cold Tessera"), 1.2, what="≤ 1.20×")
target("  paired, cold, the floor", paired("TLS1.3", "cold floor"), 1.2, what="≤ 1.20×")
target("  busy server (8 connections in step), Tessera", paired("TLS1.3", "Tessera", busy=True), 1.2, what="≤ 1.20×")
target("  busy server, the floor", paired("TLS1.3", "floor", busy=True), 1.2, what="≤ 1.20×")
target("  unpaired (²), Tessera", r("TLS 1.3 full handshake, server", "n"), 1.2, what="≤ 1.20×")
target("  unpaired (²), the floor", r("library floor: TLS 1.3 full server's crypto calls", "n"), 1.2, what="≤ 1.20×")
target("TLS 1.3 full handshake, total CPU vs nio-ssl (¹)", r("TLS 1.3 full handshake, total", "n"), 1.2, what="≤ 1.20×")
target("TLS 1.3 resumed, server CPU vs OpenSSL, paired (Paired.swift), warm", paired_resumed("TLS1.3", "Tessera"), 0.5, what="≤ 0.50× (2× faster)")
target("  the same for the library calls alone (floor), warm", paired_resumed("TLS1.3", "floor"), 0.5, what="≤ 0.50× (2× faster)")
target("  paired, each after another library's handshake (cold), Tessera", paired_resumed("TLS1.3", "cold Tessera"), 0.5, what="≤ 0.50× (2× faster)")
target("  paired, cold, the floor", paired_resumed("TLS1.3", "cold floor"), 0.5, what="≤ 0.50× (2× faster)")
target("  busy server (8 connections in step), Tessera", paired_resumed("TLS1.3", "Tessera", busy=True), 0.5, what="≤ 0.50× (2× faster)")
target("  busy server, the floor", paired_resumed("TLS1.3", "floor", busy=True), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.3 resumed, total CPU vs OpenSSL (²)", r("TLS 1.3 ticket-resumed, total (nio-ssl: full)", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("  unpaired (²), server CPU vs OpenSSL", r("TLS 1.3 ticket-resumed, server (nio-ssl: full)", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("  unpaired (²), the floor", r("library floor: TLS 1.3 resumed server's crypto and DER calls", "o"), 0.5, what="≤ 0.50× (2× faster)")
print("\n(¹) Tessera's client skips chain verification here (see the verification line above).")
print("(²) From the separate benchmarks in the table above, which run minutes apart and drift by tens of")
print("percent between runs; read the paired rows. The paired resumed rows run OpenSSL's handshakes in")
print("the benchmark's process (Sources/COpenSSLPair), with the same driver as tls_bench.")
print("A floor line that is NOT met means no code on swift-crypto's public API can meet that target: the")
print("floor is the library calls alone (Benchmarks/Sources/TesseraBenchSupport/Floors.swift), with no TLS code.")
PY
