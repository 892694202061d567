package chstore

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// allSQL is every statement the backend sends with SQL text (INSERT rows go as native blocks),
// for database fhsql: schema, load bookkeeping and every aggregate query.
func allSQL() (ddl, queries []string) {
	s := &Store{cfg: Config{Database: "fhsql"}}
	ddl = []string{"CREATE DATABASE IF NOT EXISTS fhsql", flowsDDL(s.table(flowsTable)),
		manifestDDL(s.table(manifestTable)), attemptsDDL(s.table(attemptsTable))}
	day := dayOf(time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC).UnixNano())
	queries = append(queries,
		"SELECT DISTINCT hash FROM "+s.table(manifestTable),
		straysSQL(s.table(attemptsTable), s.table(manifestTable), "0123abcd"),
		heldRowsSQL(s.table(flowsTable), day, day+3, "1, 2, 3"),
	)
	queries = append(queries, s.readSQL(Range{})...)
	queries = append(queries, s.readSQL(Range{From: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)})...)
	queries = append(queries, deleteLoadsSQL(s.table(attemptsTable), "1, 2"))
	return ddl, queries
}

// TestSQLPortable checks the backend's SQL for what breaks it on one of the server versions it
// must run on (ClickHouse 18.16 and 24+): a bare integer literal as a divisor (18.16 types it
// UInt64 and divides a negative Int64 as unsigned), functions and types 18.16 lacks, and
// unqualified tables. With FLOWHUNT_SQL_DUMP=DIR it also writes the statements to
// DIR/ddl.sql and DIR/queries.sql, which testdata/modern/run.sh runs on a local 18.16 server
// and on current ClickHouse (chdb) to compare the results.
func TestSQLPortable(t *testing.T) {
	ddl, queries := allSQL()
	bareDivisor := regexp.MustCompile(`(intDiv|modulo)\(\s*[a-z_]+\s*,\s*[0-9]|%\s*[0-9]`)
	missing := regexp.MustCompile(`(?i)\bover\s*\(|IPv4|IPv6|DateTime64|JSONExtract|\bentropy\(|\bwindow\b`)
	table := regexp.MustCompile(`(?i)\b(FROM|INTO|TABLE)\s+([A-Za-z_][A-Za-z0-9_.]*)`)
	for _, q := range append(append([]string(nil), ddl...), queries...) {
		if m := bareDivisor.FindString(q); m != "" {
			t.Errorf("bare literal divisor %q in:\n%s", m, q)
		}
		if m := missing.FindString(q); m != "" {
			t.Errorf("%q is not in ClickHouse 18.16:\n%s", m, q)
		}
		for _, m := range table.FindAllStringSubmatch(q, -1) {
			name := m[2]
			if !strings.HasPrefix(name, "fhsql.") && !strings.HasPrefix(name, "system.") && name != "EXISTS" && name != "IF" {
				t.Errorf("table %q not qualified with its database in:\n%s", name, q)
			}
		}
	}
	if len(queries) < 12 {
		t.Fatalf("only %d queries: the list is incomplete", len(queries))
	}
	if dir := os.Getenv("FLOWHUNT_SQL_DUMP"); dir != "" {
		for name, stmts := range map[string][]string{"ddl.sql": ddl, "queries.sql": queries} {
			var b strings.Builder
			for _, q := range stmts {
				b.WriteString(strings.Join(strings.Fields(q), " ") + ";\n")
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
