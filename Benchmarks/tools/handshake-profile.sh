# Sourced by run-callgrind.sh, run-perf.sh and run-large-mallocs.sh, after their arguments and
# tool checks: the results folder and the release build of HandshakeProfile that all three run.
here="$(cd "$(dirname "$0")" && pwd)"
results="$here/.build-results"
mkdir -p "$results"
(cd "$here" && swift build -c release --product HandshakeProfile >/dev/null)
binary="$here/.build/release/HandshakeProfile"
