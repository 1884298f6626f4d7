#!/usr/bin/env bash
# Ticket-resumed handshakes on 1 vs 2 NIO event loops whose servers share one TicketKeyRing
# (Sources/LoopScaling): builds the program in release and runs it. Throughput needs wall time,
# so run it with nothing else heavy on the machine; the load average is printed before and after,
# and the busiest processes before.
#
#   Benchmarks/run-loops.sh [--handshakes N] [--rounds R] [--versions 1.2,1.3] [--variants shared,separate]
#
# Output: `name value unit` lines (see Benchmarks/README.md), e.g.
#   loops_tls12_resumed_shared_2loops_over_1loop 1.93 x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
swift build -c release --product LoopScaling >&2
echo "# busiest processes before the run (pid, %cpu since start, command):"
ps -eo pid=,pcpu=,comm= --sort=-pcpu | head -5 | sed 's/^/#   /'
exec "$(swift build -c release --show-bin-path)/LoopScaling" "$@"
