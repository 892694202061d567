#!/usr/bin/env bash
# Times `flowhunt hunt` on a generated N-line CSV (default 10M) beside `wc -l` on the same file,
# in one run, and prints lines/s, the ratio and the peak RSS of each. Ratios measured side by side
# are what to compare: absolute times on shared machines are noise.
#   N=2000000 bash scripts/bench.sh        # smaller
#   BENCH_DIR=/tmp/fh bash scripts/bench.sh  # keep and reuse the generated file
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000000}
dir=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
go build -o "$dir/flowhunt" ./cmd/flowhunt
csv="$dir/flows-$N.csv"
if [ ! -s "$csv" ]; then
  echo "generating $N flows into $csv ..."
  "$dir/flowhunt" simulate --scenario bench --format csv --records "$N" --out "$csv"
fi
ls -l "$csv"
# Run a command, print "seconds maxrss_kib" (rusage of the child).
measure() {
  /usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
dt = time.perf_counter() - t
print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}
cat "$csv" > /dev/null # warm the page cache for both
read -r wc_s wc_kb < <(measure wc -l "$csv")
read -r fh_s fh_kb < <(measure "$dir/flowhunt" hunt -q --internal 120.18.0.0/16 -o json --out /dev/null "$csv")
lines=$((N + 1))
awk -v n="$lines" -v w="$wc_s" -v f="$fh_s" -v wk="$wc_kb" -v fk="$fh_kb" -v cpus="$(nproc)" 'BEGIN {
  printf "wc -l          %7.2f s  %10.0f lines/s  peak RSS %6.0f MiB\n", w, n/w, wk/1024
  printf "flowhunt hunt  %7.2f s  %10.0f lines/s  peak RSS %6.0f MiB  (%d CPUs)\n", f, n/f, fk/1024, cpus
  printf "ratio hunt/wc  %7.1f×\n", f/w
}'
