// Package ingest reads network logs in any supported format, detected by content, and turns each
// line into a flow.Record pushed to per-worker sinks. Bad lines are counted per file and reason,
// never fatal; inputs that cannot be opened or recognised are.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"golang.org/x/sync/errgroup"
)

const (
	defaultBlock = 256 << 10
	sniffSize    = 64 << 10
	maxLine      = 4 << 20 // longer lines are skipped as "line too long"
	// progressEvery spaces Options.Progress calls: often enough for a bar to move smoothly, rare
	// enough to cost nothing against millions of lines a second.
	progressEvery = 100 * time.Millisecond
)

// chunk is a run of whole data lines handed to a worker.
type chunk struct {
	data   []byte
	recs   []flow.Record // decoded records of a recordFormat, when data is nil
	line   int64         // number of the first line in data
	parser lineParser
	stats  *FileStats
	// progress is the file's progress when it is reported, told when the chunk is merged.
	progress *fileProgress
}

// Run reads all paths (files, directories, "-" for stdin) and pushes their records into sinks
// made by newSink, one per worker. It returns what was read and skipped per file. It fails on a
// path that cannot be read and on a named file that matches no format; files met while walking a
// directory that match no format are listed as ignored instead.
func Run(ctx context.Context, paths []string, opts Options, newSink func() Sink) (*Summary, error) {
	inputs, err := expand(paths)
	if err != nil {
		return nil, err
	}
	// Fail fast on named files that are unreadable or unrecognised, before any long work.
	for _, in := range inputs {
		if in.path == "-" || in.fromDir {
			continue
		}
		if _, _, err := sniffInput(in, &opts, nil); err != nil {
			return nil, err
		}
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := make(chan chunk, workers*4)
	sum := &Summary{}
	g, ctx := errgroup.WithContext(ctx)
	for range workers {
		sink := newSink()
		g.Go(func() error {
			parseChunks(chunks, sink)
			return nil
		})
	}
	var progress *progressReporter
	if opts.Progress != nil {
		progress = newProgressReporter(opts.Progress, len(inputs))
	}
	g.Go(func() error {
		defer close(chunks)
		for i, in := range inputs {
			fs := &FileStats{Name: in.name}
			sum.Files = append(sum.Files, fs)
			fp := progress.start(in.name, i, fs)
			if err := readInput(ctx, in, &opts, fs, chunks, fp); err != nil {
				return err
			}
		}
		progress.wait()
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, fs := range sum.Files {
		fs.sortSkips()
		sum.Records += fs.Records
		sum.Skipped += fs.Skipped
	}
	return sum, nil
}

// sniffInput opens in, detects its format and returns it with the opened reader. fp, when not
// nil, is given the raw byte counter as soon as the input is open.
func sniffInput(in input, shared *Options, fp *fileProgress) (format, *openInput, error) {
	opts := *shared
	if opts.Now.IsZero() {
		// Year-less syslog dates are placed before the file was last written.
		opts.Now = time.Now()
		if st, err := os.Stat(in.path); err == nil && in.path != "-" {
			opts.Now = st.ModTime()
		}
	}
	st, err := openStream(in)
	if err != nil {
		return nil, nil, err
	}
	fp.attach(st)
	closeFn := st.close
	br := bufio.NewReaderSize(st.r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull && len(head) == 0 {
		closeFn()
		return nil, nil, &InputError{Path: in.name, Err: err}
	}
	oi := &openInput{r: br, close: closeFn, empty: len(bytes.TrimSpace(head)) == 0}
	if oi.empty {
		return nil, oi, nil
	}
	f, err := detect(head, in, &opts)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return f, oi, nil
}

type openInput struct {
	r     *bufio.Reader
	close func() error
	empty bool
}

// readInput reads one input into out. fp is nil unless progress is reported; it is told the end
// of reading on every path that does not fail.
func readInput(ctx context.Context, in input, opts *Options, fs *FileStats, out chan<- chunk, fp *fileProgress) error {
	format, oi, err := sniffInput(in, opts, fp)
	if err != nil {
		var nf *NoFormatError
		if in.fromDir && errors.As(err, &nf) {
			fs.Ignored = "not a recognised log format"
			fp.endOfFile()
			return nil
		}
		return err
	}
	defer oi.close()
	if oi.empty {
		fs.Ignored = "empty"
		fp.endOfFile()
		return nil
	}
	fs.Format = format.Name()
	var stopped error
	switch f := format.(type) {
	case lineFormat:
		sp := splitter{format: f, stats: fs, out: out, ctx: ctx, line: 1, first: true, progress: fp}
		if err := sp.run(oi.r, opts.BlockSize); err != nil {
			return err
		}
		stopped = sp.stopped
	case recordFormat:
		if err := readRecords(ctx, f, oi.r, fs, out, fp); err != nil {
			return err
		}
	default:
		panic(fmt.Sprintf("ingest: format %T is neither line nor record oriented", format))
	}
	fs.Format = format.Name() // Zeek names the log type only after its #path header
	if cf, ok := format.(interface {
		Mapped() []string
		Ignored() []string
	}); ok {
		fs.Columns, fs.UnusedColumns = cf.Mapped(), cf.Ignored()
	}
	var ign *ignoreFile
	if errors.As(stopped, &ign) {
		fs.Ignored = ign.why
	}
	fp.endOfFile()
	return nil
}

// progressReporter calls Options.Progress, always from the splitter goroutine and in file
// order. Reading never waits for parsing: a file's Done goes out when the splitter next finds all
// of the file's chunks parsed (it looks once per block read), so workers are not left idle
// between files, which would cost a directory of small logs a third of its speed. A nil
// *progressReporter reports nothing.
type progressReporter struct {
	fn    func(Progress)
	files int
	next  time.Time // no intermediate report before this
	// open are the files whose Done is not sent yet, oldest first; intermediate reports are for
	// open[0], so FileIndex never goes back.
	open []*fileProgress
}

func newProgressReporter(fn func(Progress), files int) *progressReporter {
	// The first report comes after one interval: a run shorter than that gets only Done calls.
	return &progressReporter{fn: fn, files: files, next: time.Now().Add(progressEvery)}
}

// start begins reporting on input index.
func (r *progressReporter) start(name string, index int, fs *FileStats) *fileProgress {
	if r == nil {
		return nil
	}
	fp := &fileProgress{r: r, p: Progress{File: name, FileIndex: index, Files: r.files}, stats: fs,
		drained: make(chan struct{})}
	fp.chunks.Store(1) // the splitter's hold until the file is read
	r.open = append(r.open, fp)
	return fp
}

// tick sends the Done of files found parsed and, once an interval has passed, reports the oldest
// file not done. The splitter calls it once per block (256 KiB), so its cost is a clock read.
func (r *progressReporter) tick() {
	r.flush()
	if now := time.Now(); len(r.open) > 0 && !now.Before(r.next) {
		r.next = now.Add(progressEvery)
		r.open[0].report()
	}
}

// flush sends Done for the oldest files whose chunks are all parsed, without waiting.
func (r *progressReporter) flush() {
	for len(r.open) > 0 {
		select {
		case <-r.open[0].drained:
		default:
			return
		}
		fp := r.open[0]
		r.open = r.open[1:]
		fp.p.Done = true
		fp.report()
	}
}

// wait sends the last Done calls once the workers have parsed everything, and goes on reporting
// at the interval meanwhile, so the record count keeps moving while the queued chunks drain.
func (r *progressReporter) wait() {
	if r == nil {
		return
	}
	t := time.NewTimer(max(time.Until(r.next), 0))
	defer t.Stop()
	for len(r.open) > 0 {
		select {
		case <-r.open[0].drained:
			r.flush()
		case <-t.C:
			r.next = time.Now().Add(progressEvery)
			r.open[0].report()
			t.Reset(progressEvery)
		}
	}
}

// fileProgress is one input's progress. A nil *fileProgress (progress not asked) does nothing.
type fileProgress struct {
	r     *progressReporter
	p     Progress
	stats *FileStats
	raw   *countingReader // nil until the file is open
	// chunks counts the chunks sent and not yet merged into stats, plus one while the splitter
	// is still reading the file; drained is closed when it reaches 0, and then Records is exact.
	chunks  atomic.Int64
	drained chan struct{}
}

// attach takes the opened file's raw counter and size.
func (fp *fileProgress) attach(st stream) {
	if fp == nil {
		return
	}
	fp.raw, fp.p.BytesTotal = st.raw, st.size()
}

// tick is the splitter's call once per block read.
func (fp *fileProgress) tick() {
	if fp != nil {
		fp.r.tick()
	}
}

// chunkParsed is a worker's call once a chunk of the file is merged into its stats.
func (fp *fileProgress) chunkParsed() {
	if fp.chunks.Add(-1) == 0 {
		close(fp.drained)
	}
}

// endOfFile drops the splitter's hold: the file is read, and done once its chunks are parsed.
func (fp *fileProgress) endOfFile() {
	if fp == nil {
		return
	}
	fp.chunkParsed()
	fp.r.flush()
}

func (fp *fileProgress) report() {
	if fp.raw != nil {
		fp.p.BytesRead = fp.raw.n.Load()
	}
	fp.stats.mu.Lock()
	fp.p.Records = fp.stats.Records
	fp.stats.mu.Unlock()
	fp.r.fn(fp.p)
}

type splitter struct {
	format  lineFormat
	stats   *FileStats
	out     chan<- chunk
	ctx     context.Context
	line    int64 // number of the next line to dispatch
	first   bool
	parser  lineParser
	stopped error // set when the format asked to stop reading (ignoreFile)

	progress *fileProgress // nil unless Options.Progress is set
}

// run reads blocks of whole lines from r and dispatches them. A partial last line is carried into
// the next block; a line longer than maxLine is skipped and counted.
func (s *splitter) run(r io.Reader, blockSize int) error {
	if blockSize <= 0 {
		blockSize = defaultBlock
	}
	buf := make([]byte, blockSize)
	n := 0
	discarding := false // inside an over-long line, dropping bytes up to its end
	for {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		m, err := readFull(r, buf[n:])
		n += m
		s.progress.tick()
		eof := err != nil
		var readErr error // a compressed stream that ends early, or an I/O error
		if err != nil && err != io.EOF {
			readErr = err
		}
		data := buf[:n]
		if readErr != nil {
			// The last line was cut by the failure: parsing it would invent values.
			data = data[:bytes.LastIndexByte(data, '\n')+1]
		}
		if discarding {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if eof {
					s.truncated(readErr)
					break
				}
				n = 0
				continue
			}
			data = data[i+1:]
			s.line++
			discarding = false
		}
		var rest []byte
		if !eof {
			cut := bytes.LastIndexByte(data, '\n')
			if cut < 0 {
				if len(buf) < maxLine {
					nb := make([]byte, min(2*len(buf), maxLine))
					n = copy(nb, data)
					buf = nb
					continue
				}
				s.stats.mu.Lock()
				s.stats.addSkip("line too long", s.line, fmt.Sprintf("line longer than %d bytes", maxLine), 1)
				s.stats.mu.Unlock()
				discarding, n = true, 0
				continue
			}
			data, rest = data[:cut+1], data[cut+1:]
		}
		ok := s.dispatch(data)
		if eof {
			s.truncated(readErr)
		}
		if !ok || eof {
			break
		}
		nb := make([]byte, max(blockSize, len(rest)*2))
		n = copy(nb, rest)
		buf = nb
	}
	s.stats.mu.Lock()
	s.stats.Lines = s.line - 1
	s.stats.mu.Unlock()
	return nil
}

// truncated records a read failure as one skip at the line it cut (nothing when err is nil).
func (s *splitter) truncated(err error) {
	if err == nil {
		return
	}
	s.stats.mu.Lock()
	s.stats.addSkip("input truncated", s.line, fmt.Sprintf("read error after line %d: %v", s.line-1, err), 1)
	s.stats.mu.Unlock()
}

// readFull reads until p is full or the reader fails, returning io.EOF only for a clean end.
func readFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dispatch sends the whole lines in data to workers, handling control lines in order. It returns
// false when the format asked to stop reading the file.
func (s *splitter) dispatch(data []byte) bool {
	prefix := s.format.ControlPrefix()
	start := 0
	for start < len(data) {
		// Find the next control line: the first line of the file, or one starting with prefix.
		ctl := -1
		if s.first {
			ctl = start
		} else if prefix != 0 {
			if data[start] == prefix {
				ctl = start
			} else if i := bytes.Index(data[start:], []byte{'\n', prefix}); i >= 0 {
				ctl = start + i + 1
			}
		}
		if ctl < 0 {
			s.send(data[start:])
			return true
		}
		if ctl > start {
			s.send(data[start:ctl])
		}
		end := bytes.IndexByte(data[ctl:], '\n')
		next := len(data)
		line := data[ctl:]
		if end >= 0 {
			line, next = data[ctl:ctl+end], ctl+end+1
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		s.first = false
		consumed, err := s.format.Control(line, s.line)
		if err != nil {
			var ign *ignoreFile
			if errors.As(err, &ign) {
				s.stopped = err
				return false
			}
			s.stats.mu.Lock()
			s.stats.addSkip(reasonOf(err), s.line, err.Error(), 1)
			s.stats.mu.Unlock()
			consumed = true
		}
		s.parser = nil // header state may have changed
		if !consumed {
			s.send(data[ctl:next])
		} else {
			s.line++
		}
		start = next
	}
	return true
}

func (s *splitter) send(data []byte) {
	if len(data) == 0 {
		return
	}
	if s.parser == nil {
		s.parser = s.format.Parser()
	}
	if s.progress != nil {
		s.progress.chunks.Add(1)
	}
	s.out <- chunk{data: data, line: s.line, parser: s.parser, stats: s.stats, progress: s.progress}
	s.line += int64(bytes.Count(data, []byte{'\n'}))
	if data[len(data)-1] != '\n' {
		s.line++
	}
}

// parseChunks is one worker: it parses every line of every chunk into a reused Record.
func parseChunks(in <-chan chunk, sink Sink) {
	var (
		sc  Scratch
		rec flow.Record
		cs  chunkStats
	)
	for c := range in {
		cs.reset()
		for i := range c.recs {
			sink.Add(&c.recs[i])
		}
		cs.records += int64(len(c.recs))
		data, line := c.data, c.line
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			var l []byte
			if i < 0 {
				l, data = data, nil
			} else {
				l, data = data[:i], data[i+1:]
			}
			if n := len(l); n > 0 && l[n-1] == '\r' {
				l = l[:n-1]
			}
			if len(l) > 0 {
				rec.Reset()
				switch err := c.parser.Parse(&sc, l, &rec); err {
				case nil:
					sink.Add(&rec)
					cs.records++
				case errNoRecord:
				default:
					cs.skip(line, err)
				}
			}
			line++
		}
		c.stats.merge(&cs)
		if c.progress != nil {
			c.progress.chunkParsed()
		}
	}
}

// DiscardSink drops records; for benchmarks and sniff-only runs.
type DiscardSink struct{ N int64 }

func (d *DiscardSink) Add(*flow.Record) { d.N++ }
