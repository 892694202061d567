package chstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/score"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// scoreTolerance is how far a score may differ between the engines. The aggregates are equal
// exactly except DNS entropy sums, which ClickHouse's path adds as n·H per distinct query where
// the embedded engine adds H n times (rounding differs in the last bits).
const scoreTolerance = 1e-9

// layouts are the two table layouts every equivalence test runs on.
var layouts = []struct{ name, cluster string }{
	{"mergetree", ""},
	{"distributed", testCluster},
}

// TestEquivalence loads simulated networks covering every category, in formats with and without
// DNS, durations and volumes, into ClickHouse (one MergeTree table, and a Distributed table over
// two shards) and hunts them with both engines: the aggregates must be the same, pair by pair and
// field by field, and so must the findings (host, category, peers, reason) and scores.
func TestEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("equivalence suite: simulated networks loaded into ClickHouse")
	}
	serverURL(t)
	type scenario struct {
		name   string
		format string
		sc     *sim.Scenario
		names  bool
	}
	var scenarios []scenario
	for _, c := range []struct {
		seed   uint64
		hosts  int
		days   int
		format string
		names  bool
	}{
		{202, 70, 2, "zeek", false},
		{404, 70, 2, "zeek-json", false},
		{101, 70, 2, "csv", true},
		{303, 70, 2, "filterlog", true},
	} {
		sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: c.hosts, Days: c.days, Seed: c.seed}})
		if err != nil {
			t.Fatal(err)
		}
		scenarios = append(scenarios, scenario{fmt.Sprintf("office-%s-%d", c.format, c.seed), c.format, sc, c.names})
	}
	miner, err := sim.MinerNetwork(sim.Config{Hosts: 20, Days: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	scenarios = append(scenarios, scenario{"miner-filterlog", "filterlog", miner, true})

	categories := map[string]bool{}
	for _, lay := range layouts {
		for _, sc := range scenarios {
			t.Run(lay.name+"/"+sc.name, func(t *testing.T) {
				dir := t.TempDir() + "/"
				if err := sim.WriteScenario(sc.sc, sc.format, dir, nil); err != nil {
					t.Fatal(err)
				}
				opts := hunt.Options{Paths: []string{dir}, Internal: sc.sc.Truth.Internal, Detect: detect.Defaults(), All: true}
				opts.Ingest.Now = sim.EndOf(sc.sc)
				if sc.names {
					opts.DNSMaps = []string{filepath.Join(dir, "rdns.txt")}
				}
				for _, h := range compareEngines(t, lay.cluster, opts) {
					for _, f := range h.Findings {
						if f.Flagged {
							categories[f.Category] = true
						}
					}
				}
			})
		}
	}
	// The scenarios must exercise every detector, or the test proves less than it says.
	for _, c := range detect.Categories {
		if !categories[c] {
			t.Errorf("no scenario produced a flagged %s finding", c)
		}
	}
}

// TestEquivalenceSharedData does the same on every real sample in ../shared/data, read as one
// directory. Files whose bytes repeat an earlier file's are loaded once by design, so the
// embedded engine is given the de-duplicated list.
func TestEquivalenceSharedData(t *testing.T) {
	if testing.Short() {
		t.Skip("equivalence suite")
	}
	data := sharedData(t)
	serverURL(t)
	var unique []string
	seen := map[string]string{}
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != data && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		h, err := fileHash(p)
		if err != nil {
			return err
		}
		if first, dup := seen[h]; dup {
			t.Logf("%s repeats %s: loaded once", p, first)
			return nil
		}
		seen[h] = p
		unique = append(unique, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) {
			s := testStore(t, lay.cluster)
			ctx := context.Background()
			// Directory walk order, so every file is read as hunt would read it.
			if _, err := s.Load(ctx, []string{data}, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			// The embedded engine reads only files it recognises when walking a directory; given
			// them by name it would fail on the others, so keep what the load kept.
			loaded := loadedPaths(t, s)
			var paths []string
			for _, p := range unique {
				if loaded[p] {
					paths = append(paths, p)
				}
			}
			want, _ := embedded(t, paths, ingest.Options{})
			got := compareView(t, s, want)
			t.Logf("%d files, %d flows, %d pairs compared", len(paths), got.Flows(), len(slices.Collect(got.Pairs())))
		})
	}
}

func sharedData(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"../../../shared/data", "../../shared/data"} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Skip("../shared/data not found beside the repository")
	return ""
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func loadedPaths(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	rows, err := s.conn.Query(context.Background(), "SELECT path FROM "+s.table(manifestTable))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out[p] = true
	}
	return out
}

// compareEngines hunts opts with the embedded engine and, after loading the same paths into a
// fresh database of the given layout, with ClickHouse; it reports every difference in the
// aggregates and the findings, and returns the hosts found.
func compareEngines(t *testing.T, cluster string, opts hunt.Options) []score.Host {
	t.Helper()
	ctx := context.Background()
	want, err := hunt.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := testStore(t, cluster)
	if _, err := s.Load(ctx, opts.Paths, LoadOptions{Ingest: opts.Ingest}); err != nil {
		t.Fatal(err)
	}
	chOpts := opts
	chOpts.Paths, chOpts.DNSMaps = nil, nil
	// rdns.txt is a hosts-style map: as a --dns-map it names addresses; load ignored it.
	for _, p := range opts.DNSMaps {
		if strings.HasSuffix(p, "rdns.txt") {
			chOpts.DNSMaps = append(chOpts.DNSMaps, p)
		}
	}
	chOpts.Aggregates = func(ctx context.Context) (*engine.Memory, *ingest.Summary, error) {
		return s.Aggregate(ctx, Range{})
	}
	start := time.Now()
	got, err := hunt.Run(ctx, chOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clickhouse hunt %v: %d flows, %d hosts reported", time.Since(start).Round(time.Millisecond), got.View.Flows(), len(got.Report.Hosts))
	if d := engine.Diff(want.View, got.View); len(d) > 0 {
		t.Errorf("aggregates differ (embedded vs clickhouse):\n%s", strings.Join(d, "\n"))
	}
	if d := diffHosts(want.Report.Hosts, got.Report.Hosts); len(d) > 0 {
		t.Errorf("findings differ (embedded vs clickhouse):\n%s", strings.Join(d, "\n"))
	}
	if len(want.Report.Hosts) == 0 {
		t.Error("no host reported: the comparison proves nothing")
	}
	return got.Report.Hosts
}

// diffHosts compares two rankings host by host and finding by finding.
func diffHosts(a, b []score.Host) []string {
	var out []string
	add := func(f string, args ...any) { out = append(out, fmt.Sprintf(f, args...)) }
	if len(a) != len(b) {
		add("%d hosts vs %d", len(a), len(b))
	}
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x.Addr != y.Addr || x.Flagged != y.Flagged || math.Abs(x.Score-y.Score) > scoreTolerance {
			add("#%d: %v score %.12f flagged %v vs %v score %.12f flagged %v", i, x.Addr, x.Score, x.Flagged, y.Addr, y.Score, y.Flagged)
			continue
		}
		if len(x.Findings) != len(y.Findings) {
			add("%v: %d findings vs %d", x.Addr, len(x.Findings), len(y.Findings))
			continue
		}
		for j := range x.Findings {
			f, g := x.Findings[j], y.Findings[j]
			switch {
			case f.Category != g.Category || f.Flagged != g.Flagged:
				add("%v finding %d: %s flagged %v vs %s flagged %v", x.Addr, j, f.Category, f.Flagged, g.Category, g.Flagged)
			case math.Abs(f.Score-g.Score) > scoreTolerance:
				add("%v %s: score %.12f vs %.12f", x.Addr, f.Category, f.Score, g.Score)
			case !slices.Equal(f.Peers, g.Peers):
				add("%v %s: peers %v vs %v", x.Addr, f.Category, f.Peers, g.Peers)
			case f.Reason != g.Reason:
				add("%v %s: reason %q vs %q", x.Addr, f.Category, f.Reason, g.Reason)
			case !evidenceEqual(f.Evidence, g.Evidence):
				add("%v %s: evidence %v vs %v", x.Addr, f.Category, f.Evidence, g.Evidence)
			}
		}
	}
	return out
}

// evidenceEqual compares evidence maps, floats within scoreTolerance (relative).
func evidenceEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		fa, okA := va.(float64)
		fb, okB := vb.(float64)
		if okA && okB {
			if math.Abs(fa-fb) > scoreTolerance*max(1, math.Abs(fa)) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(va, vb) {
			return false
		}
	}
	return true
}

// rangeSink passes on only the records that started in [from, to), as --from/--to select.
type rangeSink struct {
	next     ingest.Sink
	from, to int64
}

func (s rangeSink) Add(r *flow.Record) {
	if r.Time >= s.from && r.Time < s.to {
		s.next.Add(r)
	}
}

// TestRange: a hunt limited to a time range sees exactly the flows and events that started in
// it, as if the logs had held nothing else.
func TestRange(t *testing.T) {
	s := testStore(t, "")
	dir, now := officeDir(t, 16)
	ictx := ingest.Options{Now: now}
	ctx := context.Background()
	if _, err := s.Load(ctx, []string{dir}, LoadOptions{Ingest: ictx}); err != nil {
		t.Fatal(err)
	}
	whole, _, err := s.Aggregate(ctx, Range{})
	if err != nil {
		t.Fatal(err)
	}
	first, last := whole.Span()
	// From the middle of the first hour to a third of the way in: cuts through pairs and hours.
	r := Range{From: time.Unix(0, first+1_800_000_000_000+123), To: time.Unix(0, first+(last-first)/3)}
	got, _, err := s.Aggregate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	agg := engine.NewAggregator()
	if _, err := ingest.Run(ctx, []string{dir + "conn.log", dir + "dns.log"}, ictx, func() ingest.Sink {
		return rangeSink{agg.NewShard(), r.From.UnixNano(), r.To.UnixNano()}
	}); err != nil {
		t.Fatal(err)
	}
	want := agg.Merge()
	if want.Flows() == 0 || want.Flows() >= whole.Flows() {
		t.Fatalf("range holds %d of %d flows: the test range is wrong", want.Flows(), whole.Flows())
	}
	scope := netscope.Default()
	want.Apply(scope)
	got.Apply(scope)
	if d := engine.Diff(want, got); len(d) > 0 {
		t.Errorf("range %v..%v, embedded vs clickhouse:\n%s", r.From, r.To, strings.Join(d, "\n"))
	}
}

// TestEquivalenceReplies: answer halves of one-way exports (flow.KindReply, as flowhunt collect
// writes them) fold into their pairs alike in both engines: counters and times added, no
// connection counted, and a pair known only from answers counting those.
func TestEquivalenceReplies(t *testing.T) {
	serverURL(t)
	var b strings.Builder
	b.WriteString("ts,duration,src,dst,sport,dport,proto,bytes_out,bytes_in,packets_out,packets_in,action,reply\n")
	for i := range 300 {
		ts := 1_700_000_000 + int64(i)*37
		client := fmt.Sprintf("10.0.%d.%d", i%3, 1+i%40)
		fmt.Fprintf(&b, "%d,%d.5,%s,93.184.216.%d,%d,443,tcp,%d,0,%d,0,pass,0\n", ts, i%7, client, i%5, 40000+i, 300+i, 3+i%4)
		if i%4 != 3 { // a quarter of the answers were not exported
			fmt.Fprintf(&b, "%d,%d.25,%s,93.184.216.%d,%d,443,tcp,0,%d,0,%d,pass,1\n", ts, i%5, client, i%5, 40000+i, 9000+i, 7+i%3)
		}
		if i%10 == 0 { // answers whose requests were not exported: a pair of its own
			fmt.Fprintf(&b, "%d,0.002,%s,8.8.8.8,%d,53,udp,0,%d,0,1,,1\n", ts+1, client, 50000+i, 90+i%9)
		}
	}
	path := filepath.Join(t.TempDir(), "collected.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) {
			s := testStore(t, lay.cluster)
			ctx := context.Background()
			if _, err := s.Load(ctx, []string{path}, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			want, _ := embedded(t, []string{path}, ingest.Options{})
			got := compareView(t, s, want)
			if got.Flows() != 300 {
				t.Errorf("flows %d, want the 300 requests", got.Flows())
			}
			var answers, answerBytes int64
			for p := range got.Pairs() {
				if p.DstPort == 53 {
					answers += p.Count
					answerBytes += int64(p.BytesIn)
				}
			}
			if answers != 30 || answerBytes < 30*90 {
				t.Errorf("answer-only pairs count %d connections and %d bytes in, want their 30 answers and bytes", answers, answerBytes)
			}
		})
	}
}
