package chstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

// testCluster is the two-shard cluster scripts/clickhouse.sh defines: both shards on the local
// server, each replica with its own default database.
const testCluster = "flowhunt_two_shards"

// serverURL returns the live test server's URL, or skips the test. FLOWHUNT_CLICKHOUSE may give
// host:port or a clickhouse:// URL; the default is 127.0.0.1:9000.
func serverURL(t testing.TB) string {
	t.Helper()
	v := os.Getenv("FLOWHUNT_CLICKHOUSE")
	if v == "" {
		v = "127.0.0.1:9000"
	}
	if !strings.Contains(v, "://") {
		v = "clickhouse://" + v
	}
	cfg, err := ParseURL(v)
	if err != nil {
		t.Fatalf("FLOWHUNT_CLICKHOUSE: %v", err)
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, time.Second)
	if err != nil {
		t.Skipf("no ClickHouse server answers on %s (run scripts/clickhouse.sh, or set FLOWHUNT_CLICKHOUSE): %v", cfg.Addr, err)
	}
	c.Close()
	return v
}

// testStore opens a store on a fresh database, dropped when the test ends; cluster "" is a
// single MergeTree table.
func testStore(t testing.TB, cluster string) *Store {
	t.Helper()
	base := serverURL(t)
	var b [4]byte
	rand.Read(b[:])
	cfg, err := ParseURL(strings.TrimRight(base, "/") + "/fhtest_" + hex.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster = cluster
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cluster != "" {
		if _, _, err := s.clusterShards(ctx, cluster); err != nil {
			s.Close()
			t.Skipf("cluster %s is not usable on this server (scripts/clickhouse.sh defines it): %v", cluster, err)
		}
	}
	t.Cleanup(func() {
		if err := s.Drop(context.Background()); err != nil {
			t.Errorf("drop: %v", err)
		}
		s.Close()
	})
	return s
}

// embedded aggregates paths with the embedded engine, as hunt does.
func embedded(t testing.TB, paths []string, opts ingest.Options) (*engine.Memory, *ingest.Summary) {
	t.Helper()
	agg := engine.NewAggregator()
	sum, err := ingest.Run(context.Background(), paths, opts, func() ingest.Sink { return agg.NewShard() })
	m := agg.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return m, sum
}

// count runs a count query.
func count(t testing.TB, s *Store, q string) uint64 {
	t.Helper()
	var n uint64
	if err := s.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rowCounter counts the records a load stores: flows, and events that name something.
type rowCounter struct{ flows, events atomic.Int64 }

func (c *rowCounter) Add(r *flow.Record) {
	switch {
	case r.Kind == flow.KindFlow:
		c.flows.Add(1)
	case r.HasNames() || len(r.PayloadOut) > 0 || len(r.PayloadIn) > 0 || r.Alert != "":
		c.events.Add(1)
	}
}
