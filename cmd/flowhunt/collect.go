package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func newCollectCmd() *cobra.Command {
	cfg := collectConfig{queue: collectQueue, drain: collectDrain}
	cmd := &cobra.Command{
		Use:   "collect --out DIR [flags]",
		Short: "Receive NetFlow v5/v9/IPFIX exports and write them as rotated CSV files",
		Long: `collect listens for NetFlow v5, v9 and IPFIX export datagrams on UDP, decodes them (templates
are kept per exporter) and writes the flows to --out as CSV files that hunt reads without
options: ts,duration,src,dst,sport,dport,proto,bytes_out,bytes_in,packets_out,packets_in,action.
Times are Unix seconds with their fraction; counters are as exported (NetFlow is one-way, so
bytes_in is 0 unless the exporter sends IPFIX biflow elements).

A file covers one --rotate period of wall-clock time, aligned to UTC, and is named after its
start: flows-20261123T101500Z.csv.zst. It is written under a hidden ".partial" name and
renamed when the period ends or collect stops, so hunt never reads a half-written file.
Interrupt (Ctrl-C) or SIGTERM flushes and closes the current file. Counts of datagrams, flows
written, datagrams that were not NetFlow and flow sets whose template had not yet arrived are
printed to stderr at every rotation and at exit.`,
		Example: `  # Collect from a router exporting to this host's port 2055, five-minute zstd files
  flowhunt collect --listen 0.0.0.0:2055 --out /var/lib/flowhunt/flows

  # Two exporters on two ports, hourly gzip files; then hunt over what was collected
  flowhunt collect --listen 0.0.0.0:2055 --listen 0.0.0.0:4739 --rotate 1h --compress gzip --out flows/
  flowhunt hunt flows/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.check(); err != nil {
				return err
			}
			return runCollect(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&cfg.listen, "listen", []string{"127.0.0.1:2055"}, "UDP HOST:PORT to receive exports on; repeat for several")
	fl.StringVar(&cfg.out, "out", "", "directory to write the flow files to (created if missing)")
	fl.DurationVar(&cfg.rotate, "rotate", 5*time.Minute, "start a new file every period (at least 1s)")
	fl.StringVar(&cfg.compress, "compress", "zstd", "compression of the files: zstd, gzip or none")
	return cmd
}

const (
	// collectQueue is how many datagrams' flows wait for the writer before new ones are dropped
	// (and counted): with 30 flows a datagram, about 120,000 flows, seconds of a busy exporter.
	collectQueue = 4096
	// collectDrain is how long a listener keeps reading after collect is told to stop, so that
	// datagrams already in the socket's buffer are written rather than lost.
	collectDrain = 200 * time.Millisecond
	// collectSocketBuffer is the receive buffer asked of the kernel, to absorb bursts.
	collectSocketBuffer = 4 << 20
)

// collectConfig is the collect command's settings.
type collectConfig struct {
	listen   []string
	out      string
	rotate   time.Duration
	compress string

	queue int           // batches queued for the writer
	drain time.Duration // reading on after the stop
}

// check validates the flags, as usage errors.
func (c *collectConfig) check() error {
	if c.out == "" {
		return usageErr("collect needs --out DIR")
	}
	if c.rotate < time.Second {
		return usageErr("--rotate %v: want at least 1s", c.rotate)
	}
	if compressSuffix(c.compress) == "?" {
		return usageErr("--compress %q: want zstd, gzip or none", c.compress)
	}
	if len(c.listen) == 0 {
		return usageErr("collect needs at least one --listen HOST:PORT")
	}
	for _, l := range c.listen {
		_, port, err := net.SplitHostPort(l)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil {
			return usageErr("--listen %q: want HOST:PORT, e.g. 0.0.0.0:2055", l)
		}
	}
	return nil
}

func compressSuffix(c string) string {
	switch c {
	case "zstd":
		return ".zst"
	case "gzip":
		return ".gz"
	case "none":
		return ""
	}
	return "?"
}

// flowBatch is the flows of one datagram, on their way to the writer.
type flowBatch struct{ recs []flow.Record }

// collectCounts are the running totals, shared by listeners and the writer.
type collectCounts struct {
	datagrams, notNetFlow    atomic.Int64
	flowsWritten, flowsDrop  atomic.Int64
	unknownTemplate, damaged atomic.Int64
	otherSkips               atomic.Int64
}

func (c *collectCounts) String() string {
	s := fmt.Sprintf("%d datagrams, %d flows written, %d datagrams not NetFlow, %d unknown-template flow sets, %d damaged datagrams",
		c.datagrams.Load(), c.flowsWritten.Load(), c.notNetFlow.Load(), c.unknownTemplate.Load(), c.damaged.Load())
	if n := c.otherSkips.Load(); n > 0 {
		s += fmt.Sprintf(", %d flow sets skipped otherwise", n)
	}
	if n := c.flowsDrop.Load(); n > 0 {
		s += fmt.Sprintf(", %d flows dropped (writer behind or failing)", n)
	}
	return s
}

// collector receives on its sockets and writes rotated files; see newCollectCmd.
type collector struct {
	cfg    collectConfig
	counts collectCounts
	queue  chan *flowBatch
	pool   sync.Pool

	logMu sync.Mutex
	log   io.Writer
	seen  map[string]bool // skip reasons already shown with an example
}

func newCollector(cfg collectConfig, stderr io.Writer) *collector {
	return &collector{
		cfg:   cfg,
		queue: make(chan *flowBatch, max(cfg.queue, 1)),
		pool:  sync.Pool{New: func() any { return &flowBatch{recs: make([]flow.Record, 0, 32)} }},
		log:   stderr,
		seen:  make(map[string]bool),
	}
}

func (c *collector) logf(format string, a ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "flowhunt collect: "+format+"\n", a...)
}

// runCollect binds every --listen address, then receives and writes until ctx is cancelled.
func runCollect(ctx context.Context, cfg collectConfig, stderr io.Writer) error {
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	c := newCollector(cfg, stderr)
	var conns []*net.UDPConn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for _, l := range cfg.listen {
		addr, err := net.ResolveUDPAddr("udp", l)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", l, err)
		}
		conn, err := net.ListenUDP("udp", addr)
		if err != nil {
			return err
		}
		_ = conn.SetReadBuffer(collectSocketBuffer) // best effort: the kernel may cap it
		conns = append(conns, conn)
		c.logf("listening on udp %s", conn.LocalAddr())
	}
	kind := cfg.compress + "-compressed CSV"
	if cfg.compress == "none" {
		kind = "uncompressed CSV"
	}
	c.logf("writing %s to %s, a new file every %v", kind, cfg.out, cfg.rotate)

	// The first listener or writer error stops the rest; the writer ends when the queue closes.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listeners, lctx := errgroup.WithContext(ctx)
	for _, conn := range conns {
		listeners.Go(func() error { return c.receive(lctx, conn) })
	}
	writeErr := make(chan error, 1)
	go func() { writeErr <- c.write(cancel) }()
	err := listeners.Wait()
	close(c.queue)
	if werr := <-writeErr; werr != nil {
		err = werr
	}
	c.logf("stopped: %s", &c.counts)
	return err
}

// receive decodes the datagrams of one socket with its own decoder (templates are per exporter
// anyway) and queues their flows. Once ctx is done it reads on for the drain time, then returns.
func (c *collector) receive(ctx context.Context, conn *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now().Add(c.cfg.drain)) })
	defer stop()
	dec := ingest.NewExportDecoder()
	buf := make([]byte, 64<<10)
	batch := c.pool.Get().(*flowBatch)
	emit := func(r *flow.Record) { batch.recs = append(batch.recs, *r) }
	skip := func(reason, detail string) { c.skipped(reason, detail) }
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("receiving on %s: %w", conn.LocalAddr(), err)
		}
		c.counts.datagrams.Add(1)
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !dec.Decode(from, buf[:n], emit, skip) {
			c.counts.notNetFlow.Add(1)
			continue
		}
		if len(batch.recs) == 0 {
			continue
		}
		select {
		case c.queue <- batch:
			batch = c.pool.Get().(*flowBatch)
		default:
			c.counts.flowsDrop.Add(int64(len(batch.recs)))
			batch.recs = batch.recs[:0]
		}
	}
}

// skipped counts a flow set or datagram the decoder could not use, and shows the first of each
// reason with its detail, so an operator sees at once why (e.g. templates not yet sent).
func (c *collector) skipped(reason, detail string) {
	switch reason {
	case "unknown template":
		c.counts.unknownTemplate.Add(1)
	case "bad NetFlow datagram":
		c.counts.damaged.Add(1)
	default:
		c.counts.otherSkips.Add(1)
	}
	c.logMu.Lock()
	first := !c.seen[reason]
	c.seen[reason] = true
	c.logMu.Unlock()
	if first {
		c.logf("first %s: %s (further ones are only counted)", reason, detail)
	}
}

// write is the writer goroutine: it writes queued flows to the current period's file and
// rotates at each period's end, until the queue is closed. On an error (disk full) it calls fail
// to stop the listeners, counts the flows still queued as dropped and returns the error once
// the queue is closed, so that listeners never block on it.
func (c *collector) write(fail func()) error {
	var (
		cur      *flowFile
		written  int64 // flows in the current file
		lastSeen int64 = -1
	)
	closeCur := func() error {
		if cur == nil {
			if n := c.counts.datagrams.Load(); n != lastSeen {
				c.logf("period ended; %s", &c.counts)
				lastSeen = n
			}
			return nil
		}
		name, err := cur.finish()
		cur = nil
		if err != nil {
			return err
		}
		c.logf("wrote %s (%d flows); %s", filepath.Base(name), written, &c.counts)
		written, lastSeen = 0, c.counts.datagrams.Load()
		return nil
	}
	failed := func(err error) error {
		// Not a *fs.PathError, which would exit as a usage error.
		err = fmt.Errorf("writing flows: %v", err)
		fail()
		if cur != nil {
			// Keep what was written: renamed if the file can still be finished, else left as
			// the hidden .partial file (which hunt does not read) for the operator.
			if name, ferr := cur.finish(); ferr == nil {
				c.logf("wrote %s (%d flows) before the error", filepath.Base(name), written)
			}
		}
		for b := range c.queue {
			c.counts.flowsDrop.Add(int64(len(b.recs)))
		}
		return err
	}
	timer := time.NewTimer(time.Until(time.Now().Truncate(c.cfg.rotate).Add(c.cfg.rotate)))
	defer timer.Stop()
	for {
		select {
		case b, ok := <-c.queue:
			if !ok {
				if cur == nil {
					return nil
				}
				return closeCur()
			}
			if cur == nil {
				var err error
				if cur, err = createFlowFile(c.cfg.out, time.Now().UTC().Truncate(c.cfg.rotate), c.cfg.compress); err != nil {
					c.counts.flowsDrop.Add(int64(len(b.recs)))
					return failed(err)
				}
			}
			if err := cur.write(b.recs); err != nil {
				c.counts.flowsDrop.Add(int64(len(b.recs)))
				return failed(err)
			}
			written += int64(len(b.recs))
			c.counts.flowsWritten.Add(int64(len(b.recs)))
			b.recs = b.recs[:0]
			c.pool.Put(b)
		case <-timer.C:
			if err := closeCur(); err != nil {
				return failed(err)
			}
			timer.Reset(time.Until(time.Now().Truncate(c.cfg.rotate).Add(c.cfg.rotate)))
		}
	}
}

// collectHeader names the CSV columns so that the CSV reader maps every one of them.
const collectHeader = "ts,duration,src,dst,sport,dport,proto,bytes_out,bytes_in,packets_out,packets_in,action,reply\n"

// flowFile is one period's output: written as partial, renamed to final when finished.
type flowFile struct {
	f       *os.File
	z       io.WriteCloser // compressor, nil for none
	w       *bufio.Writer
	dir     string
	base    string // "flows-20261123T101500Z", the final name without suffixes
	suffix  string // ".csv.zst"
	partial string
	line    []byte
}

// createFlowFile starts the file of the period beginning at start, under a hidden .partial name
// that no other file has.
func createFlowFile(dir string, start time.Time, compress string) (*flowFile, error) {
	ff := &flowFile{dir: dir, base: "flows-" + start.Format("20060102T150405Z"), suffix: ".csv" + compressSuffix(compress)}
	for i := 0; ; i++ {
		ff.partial = filepath.Join(dir, "."+ff.base+ff.suffix+".partial")
		if i > 0 {
			ff.partial = filepath.Join(dir, fmt.Sprintf(".%s-%d%s.partial", ff.base, i, ff.suffix))
		}
		f, err := os.OpenFile(ff.partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) && i < 1000 {
			continue
		}
		if err != nil {
			return nil, err
		}
		ff.f = f
		break
	}
	var w io.Writer = ff.f
	switch compress {
	case "zstd":
		z, err := zstd.NewWriter(ff.f, zstd.WithEncoderConcurrency(1))
		if err != nil {
			ff.f.Close()
			return nil, err
		}
		ff.z, w = z, z
	case "gzip":
		ff.z = gzip.NewWriter(ff.f)
		w = ff.z
	}
	ff.w = bufio.NewWriterSize(w, 64<<10)
	if _, err := ff.w.WriteString(collectHeader); err != nil {
		ff.abort()
		return nil, fmt.Errorf("%s: %w", ff.partial, err)
	}
	return ff, nil
}

func (ff *flowFile) write(recs []flow.Record) error {
	for i := range recs {
		ff.line = appendFlowCSV(ff.line[:0], &recs[i])
		if _, err := ff.w.Write(ff.line); err != nil {
			return fmt.Errorf("%s: %w", ff.partial, err)
		}
	}
	return nil
}

// finish flushes, syncs and closes the file and renames it to its final name: the period's
// name, or with "-1", "-2", … when a file of that name exists (collect restarted within the
// period). It returns the final path.
func (ff *flowFile) finish() (string, error) {
	err := ff.w.Flush()
	if ff.z != nil {
		err = errors.Join(err, ff.z.Close())
	}
	err = errors.Join(err, ff.f.Sync(), ff.f.Close())
	if err != nil {
		return "", fmt.Errorf("%s: %w", ff.partial, err)
	}
	for i := 0; ; i++ {
		name := ff.base + ff.suffix
		if i > 0 {
			name = fmt.Sprintf("%s-%d%s", ff.base, i, ff.suffix)
		}
		final := filepath.Join(ff.dir, name)
		// Link fails if final exists, where rename would replace it; then the partial goes.
		err := os.Link(ff.partial, final)
		if err == nil {
			return final, os.Remove(ff.partial)
		}
		if !errors.Is(err, os.ErrExist) {
			// No hard links here (some filesystems): check, then rename.
			if _, serr := os.Lstat(final); serr == nil {
				continue
			}
			return final, os.Rename(ff.partial, final)
		}
	}
}

func (ff *flowFile) abort() {
	ff.f.Close()
	os.Remove(ff.partial)
}

// appendFlowCSV appends r as one line in collectHeader's columns, without allocating.
func appendFlowCSV(b []byte, r *flow.Record) []byte {
	b = appendSeconds(b, r.Time)
	b = append(b, ',')
	b = appendSeconds(b, r.Duration)
	b = append(b, ',')
	b = r.Src.AppendTo(b)
	b = append(b, ',')
	b = r.Dst.AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, ',')
	if name := flow.ProtoName(r.Proto); name != "" {
		b = append(b, name...)
	} else {
		b = strconv.AppendUint(b, uint64(r.Proto), 10)
	}
	for _, n := range [4]uint64{r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn} {
		b = append(b, ',')
		b = strconv.AppendUint(b, n, 10)
	}
	b = append(b, ',')
	b = append(b, r.Action.String()...)
	if r.Kind == flow.KindReply { // the answer half of a one-way export, already turned round
		return append(b, ",1\n"...)
	}
	return append(b, ",0\n"...)
}

// appendSeconds writes ns as decimal seconds with the fraction's trailing zeros dropped
// ("1700000000.5"), which the CSV reader reads back to the nanosecond.
func appendSeconds(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := ns % 1e9
	if frac == 0 {
		return b
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := len(digits)
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}
