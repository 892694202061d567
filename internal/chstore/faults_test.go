package chstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// proxy forwards TCP connections to the server, so a test can cut them as a network would.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				c.Close()
				s.Close()
				continue
			}
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

// cut closes every open connection; new ones are still accepted.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// close cuts every connection and refuses new ones: the server is gone.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut()
}

// viaProxy opens a store on s's database through p.
func viaProxy(t *testing.T, s *Store, p *proxy) *Store {
	t.Helper()
	cfg := s.cfg
	cfg.Addr = p.ln.Addr().String()
	ps, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps
}

// officeDir writes a small office scenario in Zeek format and returns its conn.log and dns.log.
func officeDir(t testing.TB, seed uint64) (dir string, now time.Time) {
	t.Helper()
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 60, Days: 1, Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir() + "/"
	if err := sim.WriteScenario(sc, "zeek", dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir, sim.EndOf(sc)
}

// committedRows counts the rows queries read; allRows every row in the table.
func committedRows(t testing.TB, s *Store) uint64 {
	return count(t, s, "SELECT count() FROM "+s.table(flowsTable)+" WHERE "+s.where(Range{}))
}

func allRows(t testing.TB, s *Store) uint64 {
	return count(t, s, "SELECT count() FROM "+s.table(flowsTable))
}

// waitMutations waits for the database's mutations (stray-row deletions) to finish.
func waitMutations(t testing.TB, s *Store) {
	t.Helper()
	dbs := []string{"'" + s.cfg.Database + "'"}
	for _, st := range s.shards {
		dbs = append(dbs, "'"+st.db+"'")
	}
	q := fmt.Sprintf("SELECT count() FROM system.mutations WHERE database IN (%s) AND is_done = 0", strings.Join(dbs, ", "))
	for range 300 {
		if count(t, s, q) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("mutations still running after 30 s")
}

func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg, err := ParseURL("clickhouse://flowhunt:s3cret-pw@" + addr + "/netlogs?dial_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), cfg)
	var se *ServerError
	if !errors.As(err, &se) {
		t.Fatalf("err %v (%T), want a ServerError", err, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "not reachable") || strings.Contains(msg, "s3cret-pw") {
		t.Errorf("message %q: want the server named, no password", msg)
	}
}

// TestInterruptedLoad stops a load after a few INSERTs (as a crash or ^C would), checks that
// nothing of the file is visible, then runs the load again: the file is loaded once, exactly,
// and the first attempt's rows are deleted.
func TestInterruptedLoad(t *testing.T) {
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) {
			s := testStore(t, lay.cluster)
			dir, now := officeDir(t, 11)
			paths := []string{dir + "conn.log", dir + "dns.log"}
			ictx := ingest.Options{Now: now}
			ctx, cancel := context.WithCancel(context.Background())
			opts := LoadOptions{Ingest: ictx, BatchRows: 5000, testHook: func(n int, sent bool) error {
				if n == 4 && sent {
					cancel()
				}
				return nil
			}}
			if _, err := s.Load(ctx, paths, opts); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted load: err %v, want context.Canceled", err)
			}
			if n := committedRows(t, s); n != 0 {
				t.Errorf("after the interrupted load %d rows are visible, want 0", n)
			}
			if n := allRows(t, s); n < 3*5000 {
				t.Errorf("the interrupted load left %d rows, want its first INSERTs (the test must interrupt mid-file)", n)
			}
			sum, err := s.Load(context.Background(), paths, LoadOptions{Ingest: ictx})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := embedded(t, paths, ictx)
			if sum.Loaded != 2 || sum.Rows != int64(want.Flows())+eventRows(t, paths, ictx) {
				t.Errorf("re-run: %+v", sum)
			}
			if n := committedRows(t, s); n != uint64(sum.Rows) {
				t.Errorf("re-run: %d rows visible, %d loaded", n, sum.Rows)
			}
			waitMutations(t, s)
			if n := allRows(t, s); n != uint64(sum.Rows) {
				t.Errorf("after stray deletion the table holds %d rows, want exactly %d", n, sum.Rows)
			}
			compareView(t, s, want)
		})
	}
}

// eventRows counts the event records of paths that are stored (those naming something).
func eventRows(t testing.TB, paths []string, opts ingest.Options) int64 {
	t.Helper()
	var c rowCounter
	if _, err := ingest.Run(context.Background(), paths, opts, func() ingest.Sink { return &c }); err != nil {
		t.Fatal(err)
	}
	return c.events.Load()
}

// compareView aggregates everything s holds and compares it with the embedded engine's view,
// both under the default scope; it returns ClickHouse's.
func compareView(t *testing.T, s *Store, want *engine.Memory) *engine.Memory {
	t.Helper()
	got, _, err := s.Aggregate(context.Background(), Range{})
	if err != nil {
		t.Fatal(err)
	}
	scope := netscope.Default()
	want.Apply(scope)
	got.Apply(scope)
	if d := engine.Diff(want, got); len(d) > 0 {
		t.Errorf("embedded vs clickhouse:\n%s", strings.Join(d, "\n"))
	}
	return got
}

// TestConnectionLost cuts the connections under INSERTs. With one INSERT in flight, the cut
// batch is simply sent again on a new connection; with two, the other INSERT may have landed
// without its acknowledgement, and the file is loaded again. Either way the load completes with
// exact counts. Then the server goes away for good mid-load: the error names the file after the
// retries, and re-running completes.
func TestConnectionLost(t *testing.T) {
	for _, inserters := range []int{1, 2} {
		t.Run(fmt.Sprintf("inserters=%d", inserters), func(t *testing.T) {
			s := testStore(t, "")
			p := newProxy(t, s.cfg.Addr)
			ps := viaProxy(t, s, p)
			dir, now := officeDir(t, 12)
			conn := dir + "conn.log"
			ictx := ingest.Options{Now: now}
			var mu sync.Mutex
			cut := map[int]bool{}
			opts := LoadOptions{Ingest: ictx, BatchRows: 5000, Inserters: inserters, Backoff: 50 * time.Millisecond,
				testHook: func(n int, sent bool) error {
					mu.Lock()
					defer mu.Unlock()
					if (n == 2 || n == 5) && !sent && !cut[n] { // the first attempt of INSERTs 2 and 5
						cut[n] = true
						p.cut()
					}
					return nil
				}}
			sum, err := ps.Load(context.Background(), []string{conn}, opts)
			if err != nil {
				t.Fatalf("load with two cut connections: %v", err)
			}
			want, _ := embedded(t, []string{conn}, ictx)
			if len(cut) != 2 || sum.Rows != want.Flows() || committedRows(t, s) != uint64(want.Flows()) {
				t.Errorf("cuts %d, loaded %d rows, %d visible; want %d", len(cut), sum.Rows, committedRows(t, s), want.Flows())
			}
			attempts := count(t, s, "SELECT count() FROM "+s.table(attemptsTable))
			if inserters == 1 && attempts != 1 {
				t.Errorf("one INSERT at a time: %d attempts, want 1 (a cut before sending is retried, not reloaded)", attempts)
			}
			waitMutations(t, s)
			if n := allRows(t, s); n != uint64(want.Flows()) {
				t.Errorf("the table holds %d rows after %d attempts, want %d", n, attempts, want.Flows())
			}

			// The server goes away after the second INSERT of dns.log and does not come back.
			dns := dir + "dns.log"
			opts.testHook = func(n int, sent bool) error {
				if n == 2 && sent {
					p.close()
				}
				return nil
			}
			opts.Retries = 2
			start := time.Now()
			_, err = ps.Load(context.Background(), []string{dns}, opts)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != dns || !strings.Contains(err.Error(), "after 3 attempts") {
				t.Fatalf("server gone: err %v, want a FileError naming %s after 3 attempts", err, dns)
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("gave up after %v: no backoff", d)
			}
			if _, err := s.Load(context.Background(), []string{conn, dns}, LoadOptions{Ingest: ictx}); err != nil {
				t.Fatal(err)
			}
			want, _ = embedded(t, []string{conn, dns}, ictx)
			compareView(t, s, want)
			waitMutations(t, s)
			if n, c := allRows(t, s), committedRows(t, s); n != c {
				t.Errorf("table holds %d rows, %d visible: strays left", n, c)
			}
		})
	}
}

// TestAmbiguousInsert: an INSERT lands but its acknowledgement is lost, so the retry stores
// its rows twice. The row count check must refuse to commit that attempt and load the file
// again; if that keeps happening, the load fails naming the file, and a re-run loads it exactly
// once.
func TestAmbiguousInsert(t *testing.T) {
	s := testStore(t, "")
	dir, now := officeDir(t, 13)
	conn := dir + "conn.log"
	ictx := ingest.Options{Now: now}
	want, _ := embedded(t, []string{conn}, ictx)
	lostOnce := func() func(int, bool) error {
		lost := map[int]bool{}
		return func(n int, sent bool) error {
			if n%3 == 0 && sent && !lost[n] { // every third INSERT lands, but the loader does not know
				lost[n] = true
				return errors.New("connection reset (test): acknowledgement lost")
			}
			return nil
		}
	}
	opts := LoadOptions{Ingest: ictx, BatchRows: 5000, Inserters: 1, Backoff: time.Millisecond, testHook: lostOnce()}
	sum, err := s.Load(context.Background(), []string{conn}, opts)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != conn || !strings.Contains(err.Error(), "not committed") {
		t.Fatalf("err %v, want a FileError saying %s was not committed", err, conn)
	}
	if sum.Loaded != 0 || sum.Files[0].Status != StatusFailed || committedRows(t, s) != 0 {
		t.Errorf("duplicated rows committed: %+v, %d visible", sum, committedRows(t, s))
	}
	if want := fmt.Sprintf("%d times", 1+maxReloads); !strings.Contains(err.Error(), want) {
		t.Errorf("err %v: want the file tried %s", err, want)
	}

	// One lost acknowledgement: the file is loaded again within the same run.
	var once sync.Once
	opts.testHook = func(n int, sent bool) error {
		var err error
		if sent {
			once.Do(func() { err = errors.New("connection reset (test): acknowledgement lost") })
		}
		return err
	}
	sum, err = s.Load(context.Background(), []string{conn}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Loaded != 1 || committedRows(t, s) != uint64(want.Flows()) {
		t.Errorf("re-run: %+v, %d rows visible, want %d", sum, committedRows(t, s), want.Flows())
	}
	waitMutations(t, s)
	if n := allRows(t, s); n != uint64(want.Flows()) {
		t.Errorf("table holds %d rows, want %d", n, want.Flows())
	}
	compareView(t, s, want)
}

// TestReloadSkipped: files already loaded — again, under another name, or twice in one run —
// are skipped and counted, and add no row.
func TestReloadSkipped(t *testing.T) {
	s := testStore(t, "")
	dir, now := officeDir(t, 14)
	ictx := ingest.Options{Now: now}
	ctx := context.Background()
	first, err := s.Load(ctx, []string{dir}, LoadOptions{Ingest: ictx})
	if err != nil {
		t.Fatal(err)
	}
	rows := committedRows(t, s)
	if first.Loaded != 2 || first.Ignored != 2 || uint64(first.Rows) != rows {
		t.Fatalf("first load %+v, %d rows", first, rows)
	}
	copyPath := filepath.Join(t.TempDir(), "renamed-conn.log")
	data, err := os.ReadFile(dir + "conn.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load(ctx, []string{dir, copyPath, dir + "dns.log"}, LoadOptions{Ingest: ictx})
	if err != nil {
		t.Fatal(err)
	}
	if again.Loaded != 0 || again.Skipped != 4 || again.Rows != 0 || committedRows(t, s) != rows || allRows(t, s) != rows {
		t.Errorf("re-load %+v: %d rows visible, %d stored, want %d", again, committedRows(t, s), allRows(t, s), rows)
	}
	var statuses []string
	for _, f := range again.Files {
		statuses = append(statuses, filepath.Base(f.Path)+":"+f.Status)
	}
	want := []string{"conn.log:skipped", "dns.log:skipped", "rdns.txt:ignored", "truth.json:ignored", "renamed-conn.log:skipped", "dns.log:skipped"}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

// TestMalformedCounted: bad lines are skipped and counted per reason exactly as the embedded
// engine counts them, at load time and in the summary hunt rebuilds from the manifest.
func TestMalformedCounted(t *testing.T) {
	s := testStore(t, "")
	path := filepath.Join(t.TempDir(), "flows.csv")
	lines := []string{"ts,src,dst,sport,dport,proto,bytes"}
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("%d,10.0.0.%d,198.51.100.7,5000%d,443,tcp,%d", 1_700_000_000+i, i%5+1, i%10, 100+i))
	}
	lines = append(lines, "1700000100,10.0.0.9,not-an-ip,1,443,tcp,10", "1700000101,10.0.0.9,198.51.100.7,1,99999,tcp,10",
		"oops,10.0.0.9,198.51.100.7,1,443,tcp,10", "1700000102,10.0.0.9,198.51.100.7,1,80,tcp,10", "1700000103,10.0.0.9")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, wantSum := embedded(t, []string{path}, ingest.Options{})
	sum, err := s.Load(context.Background(), []string{path}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := wantSum.Files[0]
	if w.Skipped < 4 {
		t.Fatalf("the embedded engine skipped %d lines: the test input is not malformed enough", w.Skipped)
	}
	checkStats := func(what string, got *ingest.FileStats) {
		t.Helper()
		if got.Records != w.Records || got.Skipped != w.Skipped || !slices.Equal(got.Skips, w.Skips) || got.SkipSummary() != w.SkipSummary() {
			t.Errorf("%s: records %d skipped %d skips %+v\nwant records %d skipped %d skips %+v\n%q\n%q", what, got.Records, got.Skipped, got.Skips, w.Records, w.Skipped, w.Skips, got.SkipSummary(), w.SkipSummary())
		}
	}
	checkStats("load", sum.Ingest.Files[0])
	_, hsum, err := s.Aggregate(context.Background(), Range{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hsum.Files) != 1 || hsum.Records != wantSum.Records || hsum.Skipped != wantSum.Skipped {
		t.Fatalf("manifest summary %+v, want %+v", hsum, wantSum)
	}
	checkStats("manifest", hsum.Files[0])
	compareView(t, s, want)
}

// TestDistributedCounts loads into the two-shard cluster and checks that rows are spread over
// both shards and counted exactly once through the Distributed table.
func TestDistributedCounts(t *testing.T) {
	s := testStore(t, testCluster)
	dir, now := officeDir(t, 15)
	sum, err := s.Load(context.Background(), []string{dir}, LoadOptions{Ingest: ingest.Options{Now: now}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.shards) != 2 {
		t.Fatalf("%d shard tables, want 2", len(s.shards))
	}
	var local uint64
	for _, st := range s.shards {
		n := count(t, s, "SELECT count() FROM "+st.name())
		if n == 0 {
			t.Errorf("shard %d (%s) holds no rows", st.shard, st.name())
		}
		local += n
	}
	dist := allRows(t, s)
	if dist != uint64(sum.Rows) || local != uint64(sum.Rows) || committedRows(t, s) != uint64(sum.Rows) {
		t.Errorf("loaded %d rows; Distributed counts %d, local tables %d, visible %d", sum.Rows, dist, local, committedRows(t, s))
	}
	// The predefined cluster puts both shards on one table: refused, not double-counted.
	cfg := s.cfg
	cfg.Database += "_x"
	cfg.Cluster = "test_cluster_two_shards_localhost"
	bad, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	defer bad.Drop(context.Background())
	if err := bad.Ensure(context.Background()); err == nil || !strings.Contains(err.Error(), "read twice") {
		t.Errorf("cluster with both shards on one table: err %v, want a refusal", err)
	}
}
