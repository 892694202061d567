package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// collectSink keeps copies of every record it gets; safe for several workers.
type collectSink struct {
	mu   *sync.Mutex
	recs *[]flow.Record
}

func (c collectSink) Add(r *flow.Record) {
	cp := *r
	cp.DNSAnswers = slices.Clone(r.DNSAnswers)
	c.mu.Lock()
	*c.recs = append(*c.recs, cp)
	c.mu.Unlock()
}

// readText writes content to a file named name in a temp dir, reads it with Run using one worker
// (so records keep file order) and returns the records and the file's stats.
func readText(t *testing.T, name, content string, opts Options) ([]flow.Record, *FileStats, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return readFiles(t, []string{p}, opts)
}

// readFiles runs Run over paths with one worker and returns records and the first file's stats.
func readFiles(t *testing.T, paths []string, opts Options) ([]flow.Record, *FileStats, error) {
	t.Helper()
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	var (
		mu   sync.Mutex
		recs []flow.Record
	)
	sum, err := Run(context.Background(), paths, opts, func() Sink { return collectSink{&mu, &recs} })
	if err != nil {
		return nil, nil, err
	}
	if len(sum.Files) == 0 {
		return recs, &FileStats{}, nil
	}
	return recs, sum.Files[0], nil
}

// benchParse times p over lines (round-robin) as a worker runs it: one reused Record and Scratch.
// Bytes per op are the lines' mean length with its newline, so results read as MB/s of input.
func benchParse(b *testing.B, p lineParser, lines [][]byte) {
	b.Helper()
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	var (
		sc Scratch
		r  flow.Record
	)
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r.Reset()
		if err := p.Parse(&sc, lines[i%len(lines)], &r); err != nil {
			b.Fatalf("%s: %v", lines[i%len(lines)], err)
		}
	}
}
