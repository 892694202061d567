package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/klauspost/compress/zstd"
)

// slowSink sleeps a millisecond every `every` records, so reading a few MB lasts several
// progress intervals whatever the machine, and the throttle is exercised rather than skipped.
type slowSink struct{ n, every int }

func (s *slowSink) Add(*flow.Record) {
	if s.n++; s.n%s.every == 0 {
		time.Sleep(time.Millisecond)
	}
}

// progressLog keeps every Progress call in order.
type progressLog struct {
	mu    sync.Mutex
	calls []Progress
}

func (l *progressLog) add(p Progress) {
	l.mu.Lock()
	l.calls = append(l.calls, p)
	l.mu.Unlock()
}

func TestProgressPlainAndCompressed(t *testing.T) {
	const lines = 75_000
	var csv bytes.Buffer
	csv.WriteString(csvBenchHeader)
	for _, l := range csvBenchLines(lines) {
		csv.Write(l)
		csv.WriteByte('\n')
	}
	var gz, zs bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	gw.Write(csv.Bytes())
	gw.Close()
	zw, _ := zstd.NewWriter(&zs, zstd.WithEncoderLevel(zstd.SpeedFastest))
	zw.Write(csv.Bytes())
	zw.Close()
	dir := t.TempDir()
	files := []struct {
		name string
		data []byte
	}{{"flows.csv", csv.Bytes()}, {"flows.csv.gz", gz.Bytes()}, {"flows.csv.zst", zs.Bytes()}}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if csv.Len() < 4<<20 {
		t.Fatalf("test file is %d bytes, want several MB", csv.Len())
	}

	var log progressLog
	start := time.Now()
	sum, err := Run(context.Background(), paths, Options{Workers: 2, Progress: log.add},
		func() Sink { return &slowSink{every: 250} })
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}

	// Throttled: at most one call per interval, plus the first and the Done of each file.
	if max := int(elapsed/progressEvery) + 2*len(files); len(log.calls) > max {
		t.Errorf("%d calls in %v, want at most %d", len(log.calls), elapsed, max)
	}
	for j := 1; j < len(log.calls); j++ {
		if log.calls[j].FileIndex < log.calls[j-1].FileIndex {
			t.Errorf("call %d for file %d after a call for file %d: want file order", j, log.calls[j].FileIndex, log.calls[j-1].FileIndex)
		}
	}
	intermediate := 0
	for i, f := range files {
		var mine []Progress
		for _, c := range log.calls {
			if c.FileIndex == i {
				mine = append(mine, c)
			}
		}
		if len(mine) == 0 {
			t.Fatalf("%s: no progress calls", f.name)
		}
		last := mine[len(mine)-1]
		if !last.Done {
			t.Errorf("%s: last call %+v is not Done", f.name, last)
		}
		for j, c := range mine {
			if c.File != paths[i] || c.Files != len(files) || c.BytesTotal != int64(len(f.data)) {
				t.Errorf("%s: call %d %+v: want file %s of %d, total %d", f.name, j, c, paths[i], len(files), len(f.data))
			}
			if c.Done != (j == len(mine)-1) {
				t.Errorf("%s: call %d of %d has Done %v", f.name, j, len(mine), c.Done)
			}
			if j > 0 && (c.BytesRead < mine[j-1].BytesRead || c.Records < mine[j-1].Records) {
				t.Errorf("%s: call %d went back: %+v after %+v", f.name, j, c, mine[j-1])
			}
			if !c.Done {
				intermediate++
			}
		}
		if last.BytesRead != int64(len(f.data)) {
			t.Errorf("%s: done at %d bytes read, file is %d", f.name, last.BytesRead, len(f.data))
		}
		if last.Records != lines || last.Records != sum.Files[i].Records {
			t.Errorf("%s: done with %d records, read %d, want %d", f.name, last.Records, sum.Files[i].Records, lines)
		}
	}
	// Each file takes several intervals to read through the slow sink, so some calls must come
	// before the end; none would mean the splitter only ever reports Done.
	if elapsed > 4*progressEvery && intermediate == 0 {
		t.Errorf("no progress before Done in %v: %+v", elapsed, log.calls)
	}
}

func TestProgressStdinHasNoTotal(t *testing.T) {
	// A pipe as stdin: no size to measure against, so BytesTotal stays 0 and BytesRead counts up.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = saved; r.Close() })
	go func() {
		w.Write([]byte(seedCSV))
		w.Close()
	}()
	var log progressLog
	sum, err := Run(context.Background(), []string{"-"}, Options{Workers: 1, Progress: log.add},
		func() Sink { return &DiscardSink{} })
	if err != nil {
		t.Fatal(err)
	}
	if len(log.calls) == 0 || !log.calls[len(log.calls)-1].Done {
		t.Fatalf("calls %+v: want a Done call last", log.calls)
	}
	for _, c := range log.calls {
		if c.BytesTotal != 0 || c.File != "stdin" || c.Files != 1 {
			t.Errorf("call %+v: want stdin with total 0", c)
		}
	}
	if last := log.calls[len(log.calls)-1]; last.BytesRead != int64(len(seedCSV)) || last.Records != 3 || sum.Records != 3 {
		t.Errorf("done %+v, summary %d records: want %d bytes and 3 records", last, sum.Records, len(seedCSV))
	}
}

func TestProgressSkippedFilesAreDone(t *testing.T) {
	// Files a directory walk skips still end with a Done call, so a bar counting files reaches n/n.
	const garbage = "\x00\x01\x02\xff\xfe garbage\n\x00"
	dir := t.TempDir()
	for name, content := range map[string]string{"a.csv": seedCSV, "b.empty": "", "c.bin": garbage} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log progressLog
	if _, err := Run(context.Background(), []string{dir}, Options{Workers: 1, Progress: log.add},
		func() Sink { return &DiscardSink{} }); err != nil {
		t.Fatal(err)
	}
	done := map[string]Progress{}
	for _, c := range log.calls {
		if c.Done {
			done[filepath.Base(c.File)] = c
		}
	}
	f := func(name string, index int, records int64, size int) {
		t.Helper()
		c, ok := done[name]
		if !ok {
			t.Errorf("%s: no Done call in %+v", name, log.calls)
			return
		}
		if c.FileIndex != index || c.Files != 3 || c.Records != records || c.BytesTotal != int64(size) || c.BytesRead != int64(size) {
			t.Errorf("%s: Done %+v: want index %d of 3, %d records, %d bytes", name, c, index, records, size)
		}
	}
	f("a.csv", 0, 3, len(seedCSV)) // read
	f("b.empty", 1, 0, 0)          // empty
	f("c.bin", 2, 0, len(garbage)) // not a log: only the sniffed head is read, here all of it
}

func TestProgressManySmallFilesInOrder(t *testing.T) {
	// Small files end while earlier ones are still being parsed: each still gets one Done, in
	// file order, with its exact record count.
	dir := t.TempDir()
	const n = 40
	for i := range n {
		content := seedCSV + strings.Repeat("2021-08-18 10:05:11,120.18.2.84,80.155.115.153,50125,443,tcp,100\n", i*50)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.csv", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log progressLog
	sum, err := Run(context.Background(), []string{dir}, Options{Workers: 2, BlockSize: 4 << 10, Progress: log.add},
		func() Sink { return &DiscardSink{} })
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	for _, c := range log.calls {
		if c.FileIndex != next || c.Files != n {
			t.Fatalf("call %+v: want file %d of %d", c, next, n)
		}
		if c.Done {
			if want := sum.Files[next].Records; c.Records != want || want != int64(3+next*50) {
				t.Errorf("file %d done with %d records, read %d", next, c.Records, want)
			}
			next++
		}
	}
	if next != n {
		t.Errorf("%d Done calls, want %d", next, n)
	}
}

// BenchmarkCSVRunProgress is BenchmarkCSVRun with a progress callback set, to show what
// reporting costs: a clock read and a channel poll per block.
func BenchmarkCSVRunProgress(b *testing.B) {
	calls := 0
	benchCSVRun(b, Options{Progress: func(Progress) { calls++ }})
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
}

// BenchmarkRunManyFilesProgress reads a directory of 20 small CSVs with and without progress:
// reporting must not make the reader wait for the workers at each file's end.
func BenchmarkRunManyFilesProgress(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(csvBenchHeader)
	for _, l := range csvBenchLines(5000) {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	dir := b.TempDir()
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.csv", i)), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, progress := range []bool{false, true} {
		b.Run(fmt.Sprint("progress=", progress), func(b *testing.B) {
			var opts Options
			calls := 0
			if progress {
				opts.Progress = func(Progress) { calls++ }
			}
			b.SetBytes(int64(20 * buf.Len()))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(b.Context(), []string{dir}, opts, func() Sink { return &DiscardSink{} }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}
