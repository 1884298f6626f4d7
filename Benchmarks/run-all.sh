#!/usr/bin/env bash
# One run of everything that is compared: OpenSSL's program (run-openssl.sh) and the Swift
# benchmarks (`swift package benchmark`, Tessera and swift-nio-ssl), back to back, then one table
# of p50 thread-CPU figures with the ratios Tessera ÷ swift-nio-ssl and Tessera ÷ OpenSSL per line,
# and the issues' targets checked.
#
#   Benchmarks/run-all.sh [handshakes] [records]   (passed to run-openssl.sh; defaults 2000 20000)
#
# Raw output is kept in Benchmarks/.build-results/ (openssl.txt, the benchmark's JMH JSON and its
# text log). The Swift side is read from `--format jmh`: for each benchmark, the p50 over its
# iterations of the custom `client CPU (ns)` / `server CPU (ns)` / `heap per connection (B)`
# metrics. Totals are the sum of the client and server p50s. Set SKIP_SWIFT=1 to re-print the
# table from the last run's files without running anything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
results="$here/.build-results"
mkdir -p "$results"

if [ "${SKIP_SWIFT:-0}" != 1 ]; then
  echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$results/load.txt"
  "$here/run-openssl.sh" "$@" | tee "$results/openssl.txt"
  rm -f "$results"/*.jmh.json
  (cd "$here" && swift package --allow-writing-to-package-directory benchmark \
     --filter '.*(full handshake|resumed handshake|16KiB record|heap per connection|chain verification)' \
     --format jmh --path "$results" 2>&1 | tee "$results/swift-benchmark.log" | grep -E '^(Build|error|Running|Benchmark|.*failed)' || true)
  # OpenSSL again after the Swift run: this VM's speed drifts (steal time, neighbours), so the
  # OpenSSL column is the mean of both runs and the drift between them is printed.
  "$here/run-openssl.sh" "$@" > "$results/openssl-after.txt"
  echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/load.txt"
fi

python3 - "$results" <<'PY'
import glob, json, sys

results = sys.argv[1]
def read_openssl(path):
    values = {}
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                values[parts[0]] = float(parts[1])
    except FileNotFoundError:
        pass
    return values

before = read_openssl(f"{results}/openssl.txt")
after = read_openssl(f"{results}/openssl-after.txt")
ossl = {k: (v + after[k]) / 2 if k in after else v for k, v in before.items()}

jmh_files = sorted(glob.glob(f"{results}/*.jmh.json"))
if not jmh_files:
    sys.exit("run-all.sh: no JMH output from swift package benchmark (see .build-results/swift-benchmark.log)")
swift = {}
for element in json.load(open(jmh_files[-1])):
    name = element["benchmark"].split(".", 3)[-1].replace("_", " ")  # package.benchmark.<target>.<name>
    metrics = {k: v["scorePercentiles"]["50.0"] for k, v in (element.get("secondaryMetrics") or {}).items()}
    metrics["throughput"] = element["primaryMetric"]["scorePercentiles"]["50.0"]
    swift[name] = metrics

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
if after:
    drift = [after[k] / before[k] for k in before if k.endswith("_cpu") and k in after and before[k] > 0]
    drift.sort()
    print(f"OpenSSL column: mean of the runs before and after the Swift benchmarks; after ÷ before per line: "
          f"{drift[0]:.2f}–{drift[-1]:.2f} (median {drift[len(drift)//2]:.2f}), the machine's drift during the run")
tickets = [os_("tls13_full_handshake_tickets"), os_("tls13_resumed_handshake_tickets")]
print(f"OpenSSL TLS 1.3 NewSessionTickets read per handshake: full {tickets[0]}, resumed {tickets[1]} "
      "(Tessera checks 2 and 1 on every iteration; BoringSSL sends 2 by default)")

def target(label, value, limit, smaller_is_met=True, what=""):
    if value is None:
        print(f"| {label} | — | {what} | not measured |")
        return
    met = value <= limit if smaller_is_met else value >= limit
    print(f"| {label} | {value:.2f}× | {what} | {'met' if met else 'NOT met'} |")

def r(label, col):
    t, n, o = byname[label]
    other = n if col == "n" else o
    return None if t is None or other is None or other == 0 else t / other

print()
print("| target | measured | needed | |")
print("|---|---|---|---|")
target("TLS 1.2 full handshake, server CPU vs nio-ssl", r("TLS 1.2 full handshake, server", "n"), 1.2, what="≤ 1.20×")
t, n, _ = byname["16 KiB AES-128-GCM record, open (server)"]
target("16 KiB open, Tessera throughput vs nio-ssl", None if not t or not n else n / t, 1.0, False, "≥ 1.00×")
target("TLS 1.2 resumed, total CPU vs OpenSSL", r("TLS 1.2 ticket-resumed, total", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.2 resumed, server CPU vs OpenSSL", r("TLS 1.2 ticket-resumed, server", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.3 full handshake, server CPU vs nio-ssl", r("TLS 1.3 full handshake, server", "n"), 1.2, what="≤ 1.20×")
target("TLS 1.3 full handshake, total CPU vs nio-ssl (¹)", r("TLS 1.3 full handshake, total", "n"), 1.2, what="≤ 1.20×")
target("TLS 1.3 resumed, total CPU vs OpenSSL", r("TLS 1.3 ticket-resumed, total (nio-ssl: full)", "o"), 0.5, what="≤ 0.50× (2× faster)")
target("TLS 1.3 resumed, server CPU vs OpenSSL", r("TLS 1.3 ticket-resumed, server (nio-ssl: full)", "o"), 0.5, what="≤ 0.50× (2× faster)")
print("\n(¹) Tessera's client skips chain verification here (see the verification line above).")
PY
