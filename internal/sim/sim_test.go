package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

type collect struct {
	mu   *sync.Mutex
	recs *[]flow.Record
}

func (c collect) Add(r *flow.Record) { c.mu.Lock(); *c.recs = append(*c.recs, *r); c.mu.Unlock() }

// readBack writes data to a file and reads it with the real readers.
func readBack(t *testing.T, name string, data []byte, opts ingest.Options) ([]flow.Record, *ingest.Summary) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var recs []flow.Record
	opts.Workers = 1
	sum, err := ingest.Run(context.Background(), []string{p}, opts, func() ingest.Sink { return collect{&mu, &recs} })
	if err != nil {
		t.Fatal(err)
	}
	return recs, sum
}

func TestMinerNetworkDeterministicAndTrue(t *testing.T) {
	a, err := MinerNetwork(Config{Hosts: 12, Days: 1, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MinerNetwork(Config{Hosts: 12, Days: 1, Seed: 42})
	c, _ := MinerNetwork(Config{Hosts: 12, Days: 1, Seed: 43})
	if !reflect.DeepEqual(a.Records, b.Records) {
		t.Error("same seed, different records")
	}
	if reflect.DeepEqual(a.Records, c.Records) {
		t.Error("different seeds, same records")
	}
	if !slices.IsSortedFunc(a.Records, func(x, y flow.Record) int { return int(x.Time - y.Time) }) {
		t.Error("records not in time order")
	}
	if len(a.Truth.Hosts) != 2 || len(a.Truth.LookAlikes) != 2 {
		t.Errorf("truth %+v", a.Truth)
	}
	// Every planted miner really talks to a pool-named address.
	for miner := range a.Truth.Hosts {
		found := false
		for _, r := range a.Records {
			if r.Src.String() == miner && len(a.Names[r.Dst]) > 0 && r.DstPort == 443 {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("miner %s has no named pool traffic on 443", miner)
		}
	}
	if _, err := MinerNetwork(Config{Hosts: 4, Days: 1}); err == nil {
		t.Error("4 hosts accepted")
	}
	if _, err := MinerNetwork(Config{Hosts: 10, Days: 0}); err == nil {
		t.Error("0 days accepted")
	}
}

// TestWritersRoundTrip: what the simulator writes, the readers read back unchanged (to the
// second, the resolution of both text formats).
func TestWritersRoundTrip(t *testing.T) {
	sc, err := MinerNetwork(Config{Hosts: 10, Days: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var fl, csv bytes.Buffer
	if err := WriteFilterlog(&fl, sc.Records); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&csv, sc.Records); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format string
		data         []byte
		action       bool
	}{{"router.log", "filterlog", fl.Bytes(), true}, {"flows.csv", "csv", csv.Bytes(), false}} {
		got, sum := readBack(t, tc.name, tc.data, ingest.Options{Now: EndOf(sc)})
		if sum.Skipped != 0 || sum.Files[0].Format != tc.format || len(got) != len(sc.Records) {
			t.Fatalf("%s: format %s, %d of %d records, skipped %d", tc.name, sum.Files[0].Format, len(got), len(sc.Records), sum.Skipped)
		}
		for i, w := range sc.Records {
			g := got[i]
			if g.Time != w.Time/1e9*1e9 || g.Src != w.Src || g.Dst != w.Dst || g.SrcPort != w.SrcPort || g.DstPort != w.DstPort || g.Proto != w.Proto {
				t.Fatalf("%s record %d: got %+v, want %+v", tc.name, i, g, w)
			}
			if tc.action && (g.Action != w.Action) {
				t.Fatalf("%s record %d: action %v, want %v", tc.name, i, g.Action, w.Action)
			}
		}
	}
}

func TestBenchCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteBenchCSV(&b, 5000, 1); err != nil {
		t.Fatal(err)
	}
	got, sum := readBack(t, "bench.csv", b.Bytes(), ingest.Options{})
	if len(got) != 5000 || sum.Skipped != 0 {
		t.Fatalf("%d records, %d skipped", len(got), sum.Skipped)
	}
	start := time.Date(2021, 8, 18, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, r := range got {
		if !r.Src.Is4() || r.Src.As4()[0] != 120 || r.Src.As4()[1] != 18 || r.Time < start || r.Time >= start+int64(24*time.Hour) {
			t.Fatalf("record %+v outside 120.18.0.0/16 or the day", r)
		}
	}
}
