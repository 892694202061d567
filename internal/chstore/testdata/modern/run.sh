#!/usr/bin/env bash
# Runs the ClickHouse backend's SQL on the local server (Debian's 18.16, scripts/clickhouse.sh)
# and on current ClickHouse embedded in chdb (npm), over the same rows, and compares the results
# query by query. Not part of `make test` (chdb is a 550 MB download); run it after changing SQL:
#   bash internal/chstore/testdata/modern/run.sh
# CHDB_DIR is a directory where `npm install chdb` was run (default ~/.cache/flowhunt-chdb,
# installed there when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
chdb_dir=${CHDB_DIR:-$HOME/.cache/flowhunt-chdb}
work=$(mktemp -d)
trap 'rm -rf "$work"; clickhouse-client -q "DROP DATABASE IF EXISTS fhsql" || true' EXIT

if [ ! -d "$chdb_dir/node_modules/chdb" ]; then
  mkdir -p "$chdb_dir"
  (cd "$chdb_dir" && npm init -y >/dev/null && npm install chdb >/dev/null)
fi

cd "$repo"
FLOWHUNT_SQL_DUMP="$work" go test -count=1 -run '^TestSQLPortable$' ./internal/chstore/ >/dev/null
go build -o "$work/flowhunt" ./cmd/flowhunt

# Rows: a simulated office (flows, DNS with answers) and, when present, a Suricata sample
# (alerts, TLS, HTTP) from ../shared/data.
"$work/flowhunt" simulate --scenario office --hosts 60 --days 2 --seed 5 --format zeek --out "$work/office/" >/dev/null
inputs=("$work/office/")
for f in ../shared/data/slips/test6.eve.json.gz ../shared/data/rita/proxy_rolling; do
  [ -e "$f" ] && inputs+=("$f")
done
clickhouse-client -q "DROP DATABASE IF EXISTS fhsql"
"$work/flowhunt" load -q --engine clickhouse://127.0.0.1:9000/fhsql "${inputs[@]}"

for t in flows manifest load_attempts; do
  clickhouse-client -q "SELECT * FROM fhsql.$t FORMAT TabSeparated" > "$work/$t.tsv"
  clickhouse-client -q "DESCRIBE TABLE fhsql.$t FORMAT TabSeparated" | awk -F'\t' '{printf "%s%s %s", (NR>1 ? ", " : ""), $1, $2}' > "$work/$t.structure"
done

# 18.16: each query's result, lines sorted (queries have no ORDER BY).
i=0
while IFS= read -r q; do
  i=$((i+1))
  if [[ $q == ALTER* ]]; then : > "$work/old.$i"; continue; fi
  clickhouse-client -q "${q%;}" | LC_ALL=C sort > "$work/old.$i"
done < "$work/queries.sql"

CHDB_DIR="$chdb_dir" node "$here/check.js" "$work"
for n in $(seq 1 "$i"); do LC_ALL=C sort "$work/raw.$n" > "$work/new.$n"; done

fail=0
for n in $(seq 1 "$i"); do
  if cmp -s "$work/old.$n" "$work/new.$n"; then
    echo "query $n: same result ($(wc -l < "$work/old.$n") rows)"
  else
    echo "query $n: DIFFERENT: $(sed -n "${n}p" "$work/queries.sql" | cut -c1-120)"
    diff <(head -5 "$work/old.$n") <(head -5 "$work/new.$n") || true
    fail=1
  fi
done
exit $fail
