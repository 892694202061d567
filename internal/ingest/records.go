package ingest

import (
	"context"
	"io"
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// recordFormat is a format decoded in order by one goroutine: binary captures (pcap, NetFlow
// exports) whose records cannot be cut at line boundaries and whose decoding keeps state across
// records (a flow table, NetFlow templates). Decoded records are batched to the parse workers'
// sinks, so aggregation still uses every core.
type recordFormat interface {
	Name() string
	// Read decodes r to its end, handing each record to w.Emit and each undecodable unit to
	// w.Skip. It returns an error only when reading cannot go on (ctx cancelled); damage such as
	// a truncated capture is a skip, and the records before it are kept.
	Read(ctx context.Context, r io.Reader, w *RecordWriter) error
}

// recordBatch is how many records go to a worker at once: large enough that channel sends cost
// nothing per record, small enough that both workers stay busy on a small capture.
const recordBatch = 2048

// RecordWriter is a recordFormat's output: it copies records into batches for the workers and
// keeps the file's skip counts. Units are what the format counts in (packets, export datagrams);
// skip positions are 1-based unit numbers.
type RecordWriter struct {
	ctx      context.Context
	stats    *FileStats
	out      chan<- chunk
	progress *fileProgress

	batch []flow.Record
	addrs []netip.Addr // arena for the batch's DNSAnswers
	bytes []byte       // arena for the batch's payloads
	units int64
	first int64 // unit number of the batch's first record
}

// Unit advances the unit counter (one packet read) and returns the new unit's number.
func (w *RecordWriter) Unit() int64 {
	w.units++
	return w.units
}

// Emit copies r into the current batch; r may be reused as soon as Emit returns.
func (w *RecordWriter) Emit(r *flow.Record) {
	if w.batch == nil {
		w.batch = make([]flow.Record, 0, recordBatch)
		w.first = w.units
	}
	w.batch = append(w.batch, *r)
	c := &w.batch[len(w.batch)-1]
	c.DNSAnswers = w.copyAddrs(r.DNSAnswers)
	c.PayloadOut = w.copyBytes(r.PayloadOut)
	c.PayloadIn = w.copyBytes(r.PayloadIn)
	if len(w.batch) == recordBatch {
		w.flush()
	}
}

func (w *RecordWriter) copyAddrs(a []netip.Addr) []netip.Addr {
	if len(a) == 0 {
		return nil
	}
	if cap(w.addrs)-len(w.addrs) < len(a) {
		w.addrs = make([]netip.Addr, 0, max(1024, len(a)))
	}
	n := len(w.addrs)
	w.addrs = append(w.addrs, a...)
	return w.addrs[n:len(w.addrs):len(w.addrs)]
}

func (w *RecordWriter) copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if cap(w.bytes)-len(w.bytes) < len(b) {
		w.bytes = make([]byte, 0, max(64<<10, len(b)))
	}
	n := len(w.bytes)
	w.bytes = append(w.bytes, b...)
	return w.bytes[n:len(w.bytes):len(w.bytes)]
}

// Skip counts one unit (at position unit, 0 when not tied to one) that could not be decoded,
// under reason, with detail as the example shown for the first.
func (w *RecordWriter) Skip(reason string, unit int64, detail string) {
	w.stats.mu.Lock()
	w.stats.addSkip(reason, unit, detail, 1)
	w.stats.mu.Unlock()
}

// flush hands the batch to a worker.
func (w *RecordWriter) flush() {
	if len(w.batch) == 0 {
		return
	}
	if w.progress != nil {
		w.progress.chunks.Add(1)
	}
	select {
	case w.out <- chunk{recs: w.batch, line: w.first, stats: w.stats, progress: w.progress}:
	case <-w.ctx.Done():
	}
	w.batch = nil
	w.progress.tick()
}

// readRecords runs a recordFormat over one input.
func readRecords(ctx context.Context, f recordFormat, r io.Reader, fs *FileStats, out chan<- chunk, fp *fileProgress) error {
	w := &RecordWriter{ctx: ctx, stats: fs, out: out, progress: fp}
	err := f.Read(ctx, r, w)
	w.flush()
	fs.mu.Lock()
	fs.Lines = w.units
	if u, ok := f.(interface{ Unit() string }); ok {
		fs.Unit = u.Unit()
	}
	fs.mu.Unlock()
	if err == nil {
		err = ctx.Err()
	}
	return err
}
