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
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"golang.org/x/sync/errgroup"
)

const (
	defaultBlock = 256 << 10
	sniffSize    = 64 << 10
	maxLine      = 4 << 20 // longer lines are skipped as "line too long"
)

// chunk is a run of whole data lines handed to a worker.
type chunk struct {
	data   []byte
	line   int64 // number of the first line in data
	parser lineParser
	stats  *FileStats
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
		if _, _, err := sniffInput(in, &opts); err != nil {
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
	g.Go(func() error {
		defer close(chunks)
		for _, in := range inputs {
			fs := &FileStats{Name: in.name}
			sum.Files = append(sum.Files, fs)
			if err := readInput(ctx, in, &opts, fs, chunks); err != nil {
				return err
			}
		}
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

// sniffInput opens in, detects its format and returns it with the opened reader.
func sniffInput(in input, shared *Options) (lineFormat, *openInput, error) {
	opts := *shared
	if opts.Now.IsZero() {
		// Year-less syslog dates are placed before the file was last written.
		opts.Now = time.Now()
		if st, err := os.Stat(in.path); err == nil && in.path != "-" {
			opts.Now = st.ModTime()
		}
	}
	src, _, closeFn, err := openStream(in)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(src, sniffSize)
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

func readInput(ctx context.Context, in input, opts *Options, fs *FileStats, out chan<- chunk) error {
	format, oi, err := sniffInput(in, opts)
	if err != nil {
		var nf *NoFormatError
		if in.fromDir && errors.As(err, &nf) {
			fs.Ignored = "not a recognised log format"
			return nil
		}
		return err
	}
	defer oi.close()
	if oi.empty {
		fs.Ignored = "empty"
		return nil
	}
	fs.Format = format.Name()
	sp := splitter{format: format, stats: fs, out: out, ctx: ctx, line: 1, first: true}
	if err := sp.run(oi.r, opts.BlockSize); err != nil {
		return err
	}
	fs.Format = format.Name() // Zeek names the log type only after its #path header
	if cf, ok := format.(interface {
		Mapped() []string
		Ignored() []string
	}); ok {
		fs.Columns, fs.UnusedColumns = cf.Mapped(), cf.Ignored()
	}
	var ign *ignoreFile
	if errors.As(sp.stopped, &ign) {
		fs.Ignored = ign.why
	}
	return nil
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
	s.out <- chunk{data: data, line: s.line, parser: s.parser, stats: s.stats}
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
	}
}

// DiscardSink drops records; for benchmarks and sniff-only runs.
type DiscardSink struct{ N int64 }

func (d *DiscardSink) Add(*flow.Record) { d.N++ }
