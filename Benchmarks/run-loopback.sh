#!/usr/bin/env bash
# Loopback load (DESIGN.md §8): the same `openssl s_time` client load against `tessera s_server`
# and `openssl s_server`, on 127.0.0.1, in one run; prints a markdown table with the ratios
# tessera ÷ openssl of the servers' CPU per connection and of the connections per second.
#
#   Benchmarks/run-loopback.sh
#   T=5 REPEAT=5 Benchmarks/run-loopback.sh
#   TESSERA=/path/to/tessera ROWS="tls13-full tls13-resumed" Benchmarks/run-loopback.sh
#
# Environment (all optional):
#   TESSERA       tessera binary to use; without it the script builds it in release
#                 (`swift build -c release --product tessera` at the repository root)
#   SCRATCH       --scratch-path for that build (e.g. .build-loopback)
#   T             seconds each s_time run lasts (default 10)
#   REPEAT        runs per row and server (default 3); the table gives the median
#   ROWS          rows to measure (default: tls12-full tls12-resumed tls13-full tls13-resumed)
#   WARMUP        seconds of untimed load on each server before measuring (default 2, 0: none)
#   TESSERA_ARGS  extra tessera s_server flags, e.g. "-loops 1" (one thread, as openssl s_server)
#   TESSERA_PORT  port of tessera s_server (default 61480)
#   OPENSSL_PORT  port of openssl s_server (default 61481)
#   OPENSSL       openssl binary (default: openssl on PATH)
#   RESULTS       where raw outputs go (default Benchmarks/.build-results/loopback)
#
# Exit status: 0; 1 on a failure (build, server start, a client run); 3 when the table was
# printed but a row is invalid (a "resumed" run that did not resume every connection, or a
# "full" run that resumed one).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

T="${T:-10}"
REPEAT="${REPEAT:-3}"
ROWS="${ROWS:-tls12-full tls12-resumed tls13-full tls13-resumed}"
WARMUP="${WARMUP:-2}"
TESSERA_ARGS="${TESSERA_ARGS:-}"
TESSERA_PORT="${TESSERA_PORT:-61480}"
OPENSSL_PORT="${OPENSSL_PORT:-61481}"
OPENSSL="${OPENSSL:-openssl}"
RESULTS="${RESULTS:-$here/.build-results/loopback}"
HOST=127.0.0.1
TLS12_CIPHER=ECDHE-ECDSA-AES128-GCM-SHA256
TLS13_SUITE=TLS_AES_128_GCM_SHA256

die() {
    echo "run-loopback.sh: $*" >&2
    exit 1
}
note() { echo "# $*" >&2; }

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
if ! is_uint "$T" || ((T < 1)); then die "T must be a whole number of seconds >= 1, not '$T'"; fi
if ! is_uint "$REPEAT" || ((REPEAT < 1)); then die "REPEAT must be a whole number >= 1, not '$REPEAT'"; fi
is_uint "$WARMUP" || die "WARMUP must be a whole number of seconds, not '$WARMUP'"
for port in "$TESSERA_PORT" "$OPENSSL_PORT"; do
    if ! is_uint "$port" || ((port < 61000 || port > 65535)); then die "ports must be 61000-65535, not '$port'"; fi
done
[[ "$TESSERA_PORT" != "$OPENSSL_PORT" ]] || die "TESSERA_PORT and OPENSSL_PORT must differ"
for row in $ROWS; do
    case "$row" in
        tls12-full | tls12-resumed | tls13-full | tls13-resumed) ;;
        *) die "unknown row '$row' in ROWS (tls12-full tls12-resumed tls13-full tls13-resumed)" ;;
    esac
done
command -v "$OPENSSL" >/dev/null || die "no openssl binary ('$OPENSSL')"
command -v timeout >/dev/null || die "needs timeout (coreutils)"
command -v setsid >/dev/null || die "needs setsid (util-linux)"
clk_tck="$(getconf CLK_TCK)"

# --- tessera binary ----------------------------------------------------------------------------
if [[ -n "${TESSERA:-}" ]]; then
    tessera_bin="$TESSERA"
else
    build_args=(-c release --product tessera)
    if [[ -n "${SCRATCH:-}" ]]; then build_args+=(--scratch-path "$SCRATCH"); fi
    note "building tessera: swift build ${build_args[*]} (in $root)"
    (cd "$root" && swift build "${build_args[@]}" >&2) || die "swift build failed"
    bin_dir="$(cd "$root" && swift build "${build_args[@]}" --show-bin-path)"
    tessera_bin="$bin_dir/tessera"
fi
[[ -x "$tessera_bin" ]] || die "tessera binary not found or not executable: $tessera_bin"

# --- temp dir, servers, cleanup ----------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-loopback.XXXXXX")"
server_pids=()

cleanup() {
    local rc=$?
    local pid i
    trap - EXIT INT TERM
    # Each server leads its own process group (setsid): signal the group, children included.
    for pid in "${server_pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
    for pid in "${server_pids[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -d "$RESULTS" ]]; then cp "$tmp"/*.log "$RESULTS"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RESULTS"
# The previous run's files only (RESULTS may be a shared directory).
rm -f "$RESULTS"/[0-9]*-tls1[23]-*.txt "$RESULTS"/warmup-*.txt "$RESULTS"/preflight-*.txt \
    "$RESULTS"/*-server.log "$RESULTS"/req.log "$RESULTS"/runs.tsv "$RESULTS"/table.md

# One certificate and key for both servers: ECDSA P-256, CN=localhost.
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/req.log" 2>&1 ||
    { cat "$tmp/req.log" >&2; die "openssl req failed"; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

declare -A pid_of port_of
port_of[tessera]="$TESSERA_PORT"
port_of[openssl]="$OPENSSL_PORT"

server_died() {
    local name="$1"
    echo "run-loopback.sh: $name s_server (pid ${pid_of[$name]}) is not running; last lines of its log:" >&2
    tail -n 20 "$tmp/$name-server.log" >&2 || true
    exit 1
}

# True when process $1 holds the listening TCP socket of port $2 (/proc/net/tcp: state 0A).
holds_listener() {
    local inode
    inode="$(awk -v port="$(printf ':%04X' "$2")" '$4 == "0A" && substr($2, length($2) - 4) == port {
        print $10; exit }' /proc/net/tcp)"
    [[ -n "$inode" ]] && find "/proc/$1/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q .
}

# start_server NAME COMMAND...: starts it in the background (output to the temp dir), then waits
# up to 30 s for its port to accept connections.
start_server() {
    local name="$1" port="${port_of[$1]}" i
    shift
    port_open "$port" && die "port $port already accepts connections (another server?); set ${name^^}_PORT"
    # setsid: its own process group, so cleanup reaches anything it starts; in a script's
    # background job setsid execs the command in place, so $! is the server's pid.
    setsid "$@" >"$tmp/$name-server.log" 2>&1 </dev/null &
    pid_of[$name]=$!
    server_pids+=("$!")
    for ((i = 0; i < 300; i++)); do
        kill -0 "${pid_of[$name]}" 2>/dev/null || server_died "$name"
        if port_open "$port"; then
            # Its CPU is what gets measured: it must be the server itself, not a wrapper around it.
            holds_listener "${pid_of[$name]}" "$port" ||
                die "pid ${pid_of[$name]} ($name) does not hold the socket listening on port $port (a wrapper script that does not exec?)"
            return 0
        fi
        sleep 0.1
    done
    die "$name s_server did not accept connections on $HOST:$port within 30 s (log: tail $tmp/$name-server.log)"
}

# "utime stime" of a process, all its threads, in clock ticks.
cpu_ticks() {
    local stat fields
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    read -r -a fields <<<"${stat##*) }" # fields[0] is field 3 (state): utime is 14, stime 15
    echo "${fields[11]} ${fields[12]}"
}

version_args() { # ROW -> client flags for the protocol and suite
    case "$1" in
        tls12-*) echo "-tls1_2 -cipher $TLS12_CIPHER" ;;
        tls13-*) echo "-tls1_3 -ciphersuites $TLS13_SUITE" ;;
    esac
}

# shellcheck disable=SC2086 # TESSERA_ARGS is a list of flags, split on purpose
start_server tessera "$tessera_bin" s_server -accept "$HOST:$TESSERA_PORT" \
    -cert "$tmp/cert.pem" -key "$tmp/key.pem" -www -quiet $TESSERA_ARGS
start_server openssl "$OPENSSL" s_server -accept "$HOST:$OPENSSL_PORT" \
    -cert "$tmp/cert.pem" -key "$tmp/key.pem" -www -quiet

# --- preflight: each server negotiates the version and suite, and resumes --------------------
# One openssl s_client connection writes its session (-sess_out); a second offers it (-sess_in).
preflight_failed=0
for name in tessera openssl; do
    for version in tls12 tls13; do
        read -r -a vargs <<<"$(version_args "$version-")"
        want_proto="TLSv1.2" want_suite="$TLS12_CIPHER"
        if [[ "$version" == tls13 ]]; then want_proto="TLSv1.3" want_suite="$TLS13_SUITE"; fi
        sess="$tmp/$name-$version.sess"
        lines=()
        for pass in first second; do
            sess_args=(-sess_out "$sess")
            if [[ "$pass" == second ]]; then
                if [[ ! -s "$sess" ]]; then
                    lines+=("no session written by the first connection")
                    break
                fi
                sess_args=(-sess_in "$sess")
            fi
            out="$RESULTS/preflight-$name-$version-$pass.txt"
            printf 'GET / HTTP/1.0\r\n\r\n' | timeout --foreground -k 5 20 \
                "$OPENSSL" s_client -connect "$HOST:${port_of[$name]}" -servername localhost \
                -ign_eof "${vargs[@]}" "${sess_args[@]}" >"$out" 2>&1 ||
                { tail -n 20 "$out" >&2; die "preflight: s_client to $name ($version) failed"; }
            kill -0 "${pid_of[$name]}" 2>/dev/null || server_died "$name"
            line="$(grep -m1 -E '^(New|Reused), TLSv' "$out" || true)"
            lines+=("${line:-no handshake line}")
        done
        if [[ "${lines[0]}" != "New, $want_proto, Cipher is $want_suite" ]]; then
            die "preflight: $name negotiated '${lines[0]}', expected 'New, $want_proto, Cipher is $want_suite' (see $RESULTS)"
        fi
        if [[ "${lines[1]}" == "Reused, $want_proto, Cipher is $want_suite" ]]; then
            note "preflight $name $version: ${lines[0]}; then ${lines[1]}"
        else
            note "preflight $name $version: WARNING: the second connection did not resume: '${lines[1]}'"
            preflight_failed=1
        fi
    done
done

# --- measurement -------------------------------------------------------------------------------
# run_one REP ROW SERVER [label]: one s_time run; appends a line to runs.tsv (unless a warm-up).
run_one() {
    local rep="$1" row="$2" name="$3" mode out t0 t1 parsed n reused fresh served ticks user0 sys0 user1 sys1 rc=0
    local -a vargs
    read -r -a vargs <<<"$(version_args "$row")"
    mode=-new
    if [[ "$row" == *-resumed ]]; then mode=-reuse; fi
    out="$RESULTS/$rep-$row-$name.txt"
    ticks="$(cpu_ticks "${pid_of[$name]}")" || server_died "$name"
    read -r user0 sys0 <<<"$ticks"
    t0="$(date +%s%N)"
    timeout --foreground -k 5 $((T + 60)) "$OPENSSL" s_time -connect "$HOST:${port_of[$name]}" \
        -www / -time "$T" "$mode" "${vargs[@]}" >"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        # Interrupted (Ctrl-C, kill): leave quietly, the EXIT trap stops the servers.
        if ((rc == 130 || rc == 143)); then exit "$rc"; fi
        if ((rc == 124)); then die "s_time against $name ($row, run $rep) hung for $((T + 60)) s; see $out"; fi
        kill -0 "${pid_of[$name]}" 2>/dev/null || server_died "$name"
        tail -n 5 "$out" >&2
        die "s_time against $name ($row, run $rep) failed; output in $out"
    fi
    t1="$(date +%s%N)"
    ticks="$(cpu_ticks "${pid_of[$name]}")" || server_died "$name"
    read -r user1 sys1 <<<"$ticks"
    # s_time prints one character per connection: 'r' reused, '*' new (TLS 1.2/1.3), then
    # "N connections in Xs; ..." (X is s_time's own user CPU, hence wall time from here).
    parsed="$(awk '
        /^[*rt3]+$/ { for (i = 1; i <= length($0); i++) if (substr($0, i, 1) == "r") r++; else f++ }
        /^[0-9]+ connections in [0-9.]+s;/ && n == "" { n = $1 }
        END { if (n == "") exit 1; print n, r + 0, f + 0 }' "$out")" ||
        die "cannot read a connection count in $out"
    read -r n reused fresh <<<"$parsed"
    ((n > 0)) || die "s_time made no connection to $name ($row, run $rep); see $out"
    # -reuse makes one untimed full handshake first; the server's CPU covers it too.
    served="$n"
    if [[ "$mode" == -reuse ]]; then served=$((n + 1)); fi
    if [[ "$rep" == warmup ]]; then return 0; fi
    awk -v rep="$rep" -v row="$row" -v name="$name" -v n="$n" -v r="$reused" -v f="$fresh" \
        -v ns=$((t1 - t0)) -v user=$((user1 - user0)) -v sys=$((sys1 - sys0)) -v served="$served" \
        -v hz="$clk_tck" 'BEGIN {
        wall = ns / 1e9; us = 1e6 / hz / served
        printf "%s\t%s\t%s\t%d\t%d\t%d\t%.3f\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", rep, row, name, n, r, f,
            wall, user, sys, served, n / wall, (user + sys) * us, user * us, sys * us }' >>"$RESULTS/runs.tsv"
}

columns=(rep row server connections reused new wall_s server_user_ticks server_sys_ticks served conn_per_s
    server_cpu_us_per_conn server_user_us_per_conn server_sys_us_per_conn)
(IFS=$'\t' && echo "${columns[*]}") >"$RESULTS/runs.tsv"

if ((WARMUP > 0)); then
    note "warm-up: ${WARMUP} s of TLS 1.3 full handshakes on each server"
    saved_t="$T"
    T="$WARMUP"
    for name in tessera openssl; do run_one warmup tls13-full "$name"; done
    T="$saved_t"
fi

# Processes using >= 10 % of a CPU over half a second (top's second sample), to say what else ran.
busy_processes() {
    local list
    list="$(top -b -n 2 -d 0.5 -w 512 2>/dev/null | awk '/^top -/ { it++ }
        it == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 10 { printf "%s%s %s%%", sep, $12, $9; sep = ", " }')" || true
    echo "${list:-none}"
}

busy_before="$(busy_processes)"
read -r load_before _ </proc/loadavg
steal_before="$(awk '/^cpu / { print $9; exit }' /proc/stat)"
total_before="$(awk '/^cpu / { s = 0; for (i = 2; i <= 9; i++) s += $i; print s; exit }' /proc/stat)"
nrows="$(wc -w <<<"$ROWS")"
note "measuring: $nrows rows x 2 servers x $REPEAT runs x $T s (about $((nrows * 2 * REPEAT * (T + 1))) s)"
for ((rep = 1; rep <= REPEAT; rep++)); do
    order=(tessera openssl)
    if ((rep % 2 == 0)); then order=(openssl tessera); fi
    for row in $ROWS; do
        for name in "${order[@]}"; do
            run_one "$rep" "$row" "$name"
            note "run $rep $row $name: $(tail -n 1 "$RESULTS/runs.tsv" |
                awk -F'\t' '{ printf "%d connections (%d reused), %.0f conn/s, server %.0f µs/conn (user %.0f, sys %.0f)", $4, $5, $11, $12, $13, $14 }')"
        done
    done
done
read -r load_after _ </proc/loadavg
busy_after="$(busy_processes)"
steal_pct="$(awk -v s0="$steal_before" -v t0="$total_before" '/^cpu / {
    s = 0; for (i = 2; i <= 9; i++) s += $i
    printf "%.1f", (s - t0 > 0) ? 100 * ($9 - s0) / (s - t0) : 0; exit }' /proc/stat)"

# --- table -------------------------------------------------------------------------------------
# Medians per row and server from runs.tsv; exits 3 when a row is invalid.
table() {
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n), $(nproc) CPUs; $("$OPENSSL" version | cut -d' ' -f1-2); tessera: $tessera_bin${TESSERA_ARGS:+ $TESSERA_ARGS}"
    echo "# openssl s_time -www / -time $T, $REPEAT runs per cell (median); load average $load_before before, $load_after after; steal $steal_pct %"
    echo "# other busy processes (top, >= 10 % CPU): before: $busy_before; after: $busy_after"
    echo
    awk -F'\t' -v rows="$ROWS" -v repeat="$REPEAT" '
        NR == 1 { next }
        {
            k = $2 SUBSEP $3
            c = ++cnt[k]; cps[k, c] = $11; cpu[k, c] = $12; usr[k, c] = $13; sys[k, c] = $14
            if (($2 ~ /resumed/ && $5 != $4) || ($2 ~ /full/ && $5 != 0))
                bad[k] = bad[k] sprintf("%s%d of %d", (k in bad) ? ", " : "", $5, $4)
        }
        function median(arr, k, n,    i, j, v, t) {
            for (i = 1; i <= n; i++) v[i] = arr[k, i]
            for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function spread(arr, k, n,    i, lo, hi) {
            lo = hi = arr[k, 1]
            for (i = 2; i <= n; i++) { if (arr[k, i] < lo) lo = arr[k, i]; if (arr[k, i] > hi) hi = arr[k, i] }
            return lo > 0 ? hi / lo : 0
        }
        END {
            label["tls12-full"] = "TLS 1.2 full handshake"
            label["tls12-resumed"] = "TLS 1.2 ticket-resumed"
            label["tls13-full"] = "TLS 1.3 full handshake"
            label["tls13-resumed"] = "TLS 1.3 ticket-resumed"
            print "| row | tessera conn/s | openssl conn/s | tessera server CPU µs/conn | openssl server CPU µs/conn | CPU ratio tessera÷openssl | throughput ratio tessera÷openssl |"
            print "|---|---|---|---|---|---|---|"
            nr = split(rows, r, " ")
            for (i = 1; i <= nr; i++) {
                row = r[i]; kt = row SUBSEP "tessera"; ko = row SUBSEP "openssl"
                nt = cnt[kt]; no = cnt[ko]
                tc = median(cps, kt, nt); oc = median(cps, ko, no)
                tu = median(cpu, kt, nt); ou = median(cpu, ko, no)
                ok = !(kt in bad) && !(ko in bad)
                what = row ~ /resumed/ ? "resumed" : "full"
                if (ok) {
                    printf "| %s | %.0f | %.0f | %.0f | %.0f | %.2f× | %.2f× |\n", label[row], tc, oc, tu, ou,
                        (ou > 0 ? tu / ou : 0), (oc > 0 ? tc / oc : 0)
                } else {
                    msg = ""
                    if (kt in bad) msg = msg sprintf("; tessera resumed %s", bad[kt])
                    if (ko in bad) msg = msg sprintf("; openssl resumed %s", bad[ko])
                    printf "| %s | %.0f | %.0f | %.0f | %.0f | — invalid (%s row%s connections) | — |\n", label[row], tc, oc, tu, ou,
                        what, msg
                    invalid = 1
                }
                split_ = split_ sprintf("| %s | %.0f + %.0f | %.0f + %.0f |\n", label[row],
                    median(usr, kt, nt), median(sys, kt, nt), median(usr, ko, no), median(sys, ko, no))
                sp = sp sprintf("| %s | %.2f× | %.2f× | %.2f× | %.2f× |\n", label[row],
                    spread(cps, kt, nt), spread(cps, ko, no), spread(cpu, kt, nt), spread(cpu, ko, no))
            }
            print ""
            print "Spread over the runs (max ÷ min):"
            print ""
            print "| row | tessera conn/s | openssl conn/s | tessera CPU/conn | openssl CPU/conn |"
            print "|---|---|---|---|---|"
            printf "%s", sp
            print ""
            print "Server CPU µs/conn split into user + kernel (medians):"
            print ""
            print "| row | tessera user + sys | openssl user + sys |"
            print "|---|---|---|"
            printf "%s", split_
            if (invalid) exit 3
        }' "$RESULTS/runs.tsv"
}
status=0
table >"$RESULTS/table.md" || status=$?
cat "$RESULTS/table.md"
note "raw s_time outputs, runs.tsv and server logs: $RESULTS"
if ((status == 3)); then
    note "WARNING: some rows are invalid (a resumed row that did not resume, or a full row that did); no ratio printed for them"
    exit 3
fi
((status == 0)) || exit "$status"
if ((preflight_failed)); then note "WARNING: a preflight resumption failed (above), although every s_time run looked right"; fi
