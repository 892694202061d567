package chstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

// Loading is exactly-once per file content, on 18.16 as on current servers, without relying on
// transactions, deduplication or synchronous mutations:
//
//  1. A file is identified by the SHA-256 of its bytes as stored. A hash present in the
//     manifest is skipped: re-running a load, or an hourly import over a growing directory,
//     never adds a file twice, whatever its name.
//  2. Each attempt to load a file gets a random 64-bit load_id, recorded in load_attempts before
//     any row is written; every row carries it.
//  3. Rows go in INSERTs of BatchRows rows (rows of several small files may share one). A batch
//     whose INSERT fails is sent again after a backoff, a few times.
//  4. Once every batch holding a file's rows is in, the loader counts the rows the server holds
//     for the attempt (SELECT count() … WHERE load_id = …) and compares with the rows it sent:
//     an INSERT that landed but whose acknowledgement was lost, then retried, shows here as
//     extra rows, and the attempt is abandoned rather than committed; the file is loaded again
//     under a new load_id (twice at most, then the load fails naming it).
//  5. The manifest row (hash → load_id) is written last; it is the commit. A single-block INSERT
//     is atomic, so a file is committed whole or not at all.
//
// Every query reads only rows whose load_id is its hash's committed one (the smallest, should
// two loaders have raced on one file), so rows of an interrupted or abandoned attempt are never
// seen: an interrupted load leaves neither gaps nor duplicates, and re-running it loads the file
// again under a new load_id. Before re-loading a file, the rows of its earlier uncommitted
// attempts are deleted (ALTER TABLE … DELETE on each local table); that mutation runs in the
// background and only reclaims space, as correctness never depended on it. Two loads of the
// same file running at the same time are not supported (one may delete the other's rows before
// it commits); loads of different files may run concurrently.

// LoadOptions tunes a load.
type LoadOptions struct {
	Ingest    ingest.Options
	BatchRows int           // rows per INSERT; 0 is 262,144
	Inserters int           // INSERTs in flight at once; 0 is 2
	Retries   int           // further attempts of a failed INSERT; 0 is 4, negative is none
	Backoff   time.Duration // wait before the first retry, doubling after each; 0 is 500 ms

	// testHook, when set, is called before each INSERT is sent (sent false) and after it
	// succeeded (sent true), with the INSERT's sequence number; an error it returns counts as a
	// failed INSERT.
	testHook func(insert int, sent bool) error
}

func (o *LoadOptions) defaults() {
	if o.BatchRows <= 0 {
		o.BatchRows = 1 << 18
	}
	if o.Inserters <= 0 {
		o.Inserters = 2
	}
	if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
}

// File statuses in a LoadSummary.
const (
	StatusLoaded  = "loaded"
	StatusSkipped = "skipped" // already in the manifest (or given twice)
	StatusIgnored = "ignored" // empty, or found in a directory and not a log
	StatusFailed  = "failed"  // read, but not committed: the error says why
	// statusPending is a file read and not committed yet; a failed load leaves it so.
	statusPending = "read, not committed"
)

// FileResult is what happened to one input file.
type FileResult struct {
	Path   string
	Hash   string // hex SHA-256 of the file's bytes
	Status string
	Rows   int64 // rows stored: its records, less application events that name nothing
	Stats  *ingest.FileStats
}

// LoadSummary is a finished load.
type LoadSummary struct {
	Files                    []FileResult
	Loaded, Skipped, Ignored int
	Rows                     int64
	// Ingest holds the reading statistics of the files read, as the embedded engine reports
	// them (records, skipped lines per reason).
	Ingest *ingest.Summary
}

// FileError is a failure tied to one input file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Load reads paths (files, directories walked like hunt walks them, "-" for stdin, which is
// spooled to a temporary file first) and stores every file not loaded before. It creates the
// tables when missing (Ensure).
func (s *Store) Load(ctx context.Context, paths []string, opts LoadOptions) (*LoadSummary, error) {
	opts.defaults()
	inputs, cleanup, err := expandInputs(paths)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	if err := s.Ensure(ctx); err != nil {
		return nil, err
	}
	committed, err := s.committedHashes(ctx)
	if err != nil {
		return nil, err
	}
	sum := &LoadSummary{Ingest: &ingest.Summary{}}
	l := newLoader(ctx, s, opts)
	l.files = len(inputs)
	defer l.stop()
	defer sum.count()

	hashes := hashInputs(l.ctx, inputs)
	var pending []*pendingFile
	for _, in := range inputs {
		h := <-hashes
		if h.err != nil {
			return sum, h.err
		}
		res := FileResult{Path: in.name, Hash: h.hash}
		if committed[h.hash] {
			res.Status = StatusSkipped
			sum.Files = append(sum.Files, res)
			continue
		}
		if err := s.collectStrays(l.ctx, h.hash); err != nil {
			return sum, err
		}
		pf, fs, err := l.loadFile(in, h)
		var nf *ingest.NoFormatError
		switch {
		case err != nil && in.fromDir && errors.As(err, &nf):
			res.Status = StatusIgnored
			res.Stats = &ingest.FileStats{Name: in.name, Ignored: "not a recognised log format"}
			sum.Files = append(sum.Files, res)
			continue
		case err != nil:
			return sum, err
		}
		committed[h.hash] = true // a second copy of the same bytes in this run is skipped
		res.Status, res.Stats, res.Rows = statusPending, fs, pf.rows
		pf.result = len(sum.Files)
		sum.Files = append(sum.Files, res)
		sum.Ingest.Files = append(sum.Ingest.Files, fs)
		sum.Ingest.Records += fs.Records
		sum.Ingest.Skipped += fs.Skipped
		if fs.Ignored != "" && pf.rows == 0 {
			sum.Files[pf.result].Status = StatusIgnored // empty: nothing to commit
			continue
		}
		pending = append(pending, pf)
		if err := l.commitPending(&pending, sum, false); err != nil {
			return sum, err
		}
	}
	if err := l.commitPending(&pending, sum, true); err != nil {
		return sum, err
	}
	sum.count()
	return sum, nil
}

func (s *LoadSummary) count() {
	s.Loaded, s.Skipped, s.Ignored, s.Rows = 0, 0, 0, 0
	for _, f := range s.Files {
		switch f.Status {
		case StatusLoaded:
			s.Loaded++
			s.Rows += f.Rows
		case StatusSkipped:
			s.Skipped++
		case StatusIgnored:
			s.Ignored++
		}
	}
}

type input struct {
	path, name string
	fromDir    bool
	index      int // position among the inputs
}

// expandInputs resolves paths as ingest does: directories walked in name order, hidden entries
// skipped; "-" is copied to a temporary file (removed by cleanup) so it can be hashed.
func expandInputs(paths []string) ([]input, func(), error) {
	var (
		out   []input
		temps []string
	)
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, p := range paths {
		if p == "-" {
			f, err := os.CreateTemp("", "flowhunt-stdin-*")
			if err != nil {
				return nil, cleanup, err
			}
			temps = append(temps, f.Name())
			_, err = io.Copy(f, os.Stdin)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, cleanup, &ingest.InputError{Path: "stdin", Err: err}
			}
			out = append(out, input{path: f.Name(), name: "stdin"})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, cleanup, &ingest.InputError{Path: p, Err: unwrapPath(err)}
		}
		if !st.IsDir() {
			out = append(out, input{path: p, name: p})
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return &ingest.InputError{Path: path, Err: unwrapPath(err)}
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, cleanup, err
		}
		sort.Strings(files)
		for _, f := range files {
			out = append(out, input{path: f, name: f, fromDir: true})
		}
	}
	for i := range out {
		out[i].index = i
	}
	return out, cleanup, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type hashed struct {
	hash    string
	size    int64
	modTime time.Time
	err     error
}

// hashInputs hashes the inputs in order in the background, a couple of files ahead of the load,
// so that hashing the next file overlaps loading this one.
func hashInputs(ctx context.Context, inputs []input) <-chan hashed {
	out := make(chan hashed, 2)
	go func() {
		defer close(out)
		for _, in := range inputs {
			h := hashFile(in)
			select {
			case out <- h:
			case <-ctx.Done():
				return
			}
			if h.err != nil {
				return
			}
		}
	}()
	return out
}

func hashFile(in input) hashed {
	f, err := os.Open(in.path)
	if err != nil {
		return hashed{err: &ingest.InputError{Path: in.name, Err: unwrapPath(err)}}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return hashed{err: &ingest.InputError{Path: in.name, Err: unwrapPath(err)}}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return hashed{err: &ingest.InputError{Path: in.name, Err: unwrapPath(err)}}
	}
	return hashed{hash: hex.EncodeToString(h.Sum(nil)), size: st.Size(), modTime: st.ModTime()}
}

// committedHashes returns the hashes of the files in the manifest.
func (s *Store) committedHashes(ctx context.Context) (map[string]bool, error) {
	q := "SELECT DISTINCT hash FROM " + s.table(manifestTable)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, s.wrap(err, q)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, s.wrap(err, q)
		}
		out[h] = true
	}
	return out, rows.Err()
}

// collectStrays deletes the rows of earlier attempts at loading hash that never committed.
func (s *Store) collectStrays(ctx context.Context, hash string) error {
	q := straysSQL(s.table(attemptsTable), s.table(manifestTable), hash)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return s.wrap(err, q)
	}
	var ids []string
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return s.wrap(err, q)
		}
		ids = append(ids, fmt.Sprint(id))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(err, q)
	}
	if len(ids) == 0 {
		return nil
	}
	in := strings.Join(ids, ", ")
	tables, err := s.localTables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := s.exec(ctx, t.conn, deleteLoadsSQL(t.name, in)); err != nil {
			return err
		}
	}
	return s.exec(ctx, s.conn, deleteLoadsSQL(s.table(attemptsTable), in))
}

// straysSQL lists the attempts at loading hash that never committed.
func straysSQL(attempts, manifest, hash string) string {
	return fmt.Sprintf("SELECT DISTINCT load_id FROM %s WHERE hash = '%s' AND load_id NOT IN (SELECT load_id FROM %s)",
		attempts, hash, manifest)
}

// deleteLoadsSQL deletes the rows of attempts ids (a comma-separated list): a mutation, which the
// server applies in the background.
func deleteLoadsSQL(table, ids string) string {
	return fmt.Sprintf("ALTER TABLE %s DELETE WHERE load_id IN (%s)", table, ids)
}

type localTable struct {
	name string
	conn driver.Conn
}

// localTables are the MergeTree tables holding rows: flows itself, or every shard replica's.
func (s *Store) localTables(ctx context.Context) ([]localTable, error) {
	if s.cluster == "" {
		return []localTable{{s.table(flowsTable), s.conn}}, nil
	}
	var out []localTable
	for _, st := range s.shards {
		c, err := s.shardConn(ctx, st)
		if err != nil {
			return nil, err
		}
		out = append(out, localTable{st.name(), c})
	}
	return out, nil
}

// pendingFile is a file whose rows are all handed to the inserters, not yet committed.
type pendingFile struct {
	in             input
	hash           hashed
	load           uint64
	rows           int64
	minDay, maxDay uint16
	stats          *ingest.FileStats
	result         int // index in LoadSummary.Files
	reloads        int // earlier attempts in this run whose row count was wrong
	held           int64
}

// loader owns the sinks, the rowsets and the INSERT goroutines of one Load.
type loader struct {
	s                      *Store
	opts                   LoadOptions
	ctx                    context.Context
	cancel                 context.CancelCauseFunc
	insertFlows, insertAll string // INSERTs naming baseColumns, flowColumns

	queue    chan *rowset
	free     chan *rowset
	wg       sync.WaitGroup // inserter goroutines
	inflight sync.WaitGroup // rowsets queued or being inserted
	mu       sync.Mutex
	err      error
	inserts  int
	attempts map[uint64]*attempt // per load id

	files int // inputs in the load, for progress
	sinks []*sink
	calls int // newSink calls in the current ingest.Run
	load  uint64
}

func newLoader(ctx context.Context, s *Store, opts LoadOptions) *loader {
	l := &loader{s: s, opts: opts, attempts: map[uint64]*attempt{},
		insertFlows: "INSERT INTO " + s.table(flowsTable) + " " + columnList(baseColumns),
		insertAll:   "INSERT INTO " + s.table(flowsTable) + " " + columnList(flowColumns),
		queue:       make(chan *rowset, opts.Inserters),
		// Rowsets in use at once: one per parse worker, one queued and one being sent per inserter.
		free: make(chan *rowset, workers(opts)+2*opts.Inserters)}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	if s.cluster != "" {
		// The Distributed table's INSERT returns once every shard has the rows, not when they
		// are queued for sending: the manifest must not commit rows still on their way.
		l.ctx = clickhouse.Context(l.ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	}
	for range opts.Inserters {
		l.wg.Add(1)
		go l.inserter()
	}
	return l
}

func workers(o LoadOptions) int {
	if o.Ingest.Workers > 0 {
		return o.Ingest.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (l *loader) stop() {
	l.cancel(context.Canceled)
	close(l.queue)
	l.wg.Wait()
}

func (l *loader) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.cancel(err)
}

func (l *loader) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *loader) getRowset() *rowset {
	select {
	case rs := <-l.free:
		rs.reset()
		return rs
	default:
		return newRowset(l.opts.BatchRows)
	}
}

func (l *loader) release(rs *rowset) {
	select {
	case l.free <- rs:
	default:
	}
}

// attempt is one try at loading a file.
type attempt struct {
	path, hash string
	recorded   bool // in load_attempts
}

// record writes the attempts with rows in rs to load_attempts, once each, before any of their
// rows can reach the server: an attempt that never commits is then always found and its rows
// deleted before the file is loaded again. Files without rows (empty, not a log) leave no trace.
func (l *loader) record(rs *rowset) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []uint64
	for _, id := range rs.loads {
		if !l.attempts[id].recorded {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	q := "INSERT INTO " + l.s.table(attemptsTable) + " (hash, load_id, path, started)"
	b, err := l.s.conn.PrepareBatch(l.ctx, q)
	if err != nil {
		return l.ctxErr(l.s.wrap(err, q))
	}
	now := time.Now()
	for _, id := range ids {
		a := l.attempts[id]
		if err := b.Append(a.hash, id, a.path, now); err != nil {
			b.Abort()
			return l.s.wrap(err, q)
		}
	}
	if err := b.Send(); err != nil {
		return l.ctxErr(l.s.wrap(err, q))
	}
	for _, id := range ids {
		l.attempts[id].recorded = true
	}
	return nil
}

// send queues a full rowset for an inserter; it waits while every inserter is busy.
func (l *loader) send(rs *rowset) {
	if err := l.record(rs); err != nil {
		l.fail(err)
		l.release(rs)
		return
	}
	l.inflight.Add(1)
	select {
	case l.queue <- rs:
	case <-l.ctx.Done():
		l.inflight.Done()
	}
}

func (l *loader) inserter() {
	defer l.wg.Done()
	var sc sendScratch
	for rs := range l.queue {
		if l.failed() == nil {
			if err := l.insertRetrying(rs, &sc); err != nil {
				l.fail(err)
			}
		}
		l.release(rs)
		l.inflight.Done()
	}
}

// insertRetrying sends rs, again after a backoff when it fails, up to Retries more times.
func (l *loader) insertRetrying(rs *rowset, sc *sendScratch) error {
	l.mu.Lock()
	l.inserts++
	seq := l.inserts
	l.mu.Unlock()
	attempts, err := l.retrying(func() error { return l.insertOnce(rs, sc, seq) }, func() { rs.retried = true })
	if err != nil && attempts > 0 {
		return &FileError{Path: l.filesOf(rs), Err: fmt.Errorf("clickhouse %s: INSERT of %d rows failed after %d attempts: %w",
			l.s.cfg, rs.n, attempts, redact(err, l.s.cfg.Password))}
	}
	return err
}

// retrying runs op, again after a doubling backoff while it fails with a retryable error, up to
// Retries more times; before each retry it calls again (when not nil). It returns how many
// attempts failed with err, or 0 and the context's cause when the load was cancelled.
func (l *loader) retrying(op func() error, again func()) (int, error) {
	wait := l.opts.Backoff
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return 0, nil
		}
		if cerr := l.ctx.Err(); cerr != nil {
			return 0, context.Cause(l.ctx)
		}
		if attempt >= l.opts.Retries || !retryable(err) {
			return attempt + 1, err
		}
		if again != nil {
			again()
		}
		select {
		case <-time.After(wait):
		case <-l.ctx.Done():
			return 0, context.Cause(l.ctx)
		}
		wait *= 2
	}
}

// commitError names the files of a commit whose bookkeeping (row count, manifest) failed.
func (l *loader) commitError(files []*pendingFile, what string, attempts int, err error) error {
	if attempts == 0 {
		return err // cancelled
	}
	names := make([]string, 0, min(len(files), 3))
	for _, f := range files[:min(len(files), 3)] {
		names = append(names, f.in.name)
	}
	path := strings.Join(names, ", ")
	if len(files) > 3 {
		path += fmt.Sprintf(" (and %d more files)", len(files)-3)
	}
	return &FileError{Path: path, Err: fmt.Errorf("clickhouse %s: %s failed after %d attempts: %w; not committed, run load again",
		l.s.cfg, what, attempts, redact(err, l.s.cfg.Password))}
}

func (l *loader) insertOnce(rs *rowset, sc *sendScratch, seq int) error {
	q := l.insertFlows
	if rs.app {
		q = l.insertAll
	}
	b, err := l.s.conn.PrepareBatch(l.ctx, q)
	if err != nil {
		return err
	}
	if err := rs.appendTo(b, sc); err != nil {
		b.Abort()
		return err
	}
	if l.opts.testHook != nil {
		if err := l.opts.testHook(seq, false); err != nil {
			b.Abort()
			return err
		}
	}
	if err := b.Send(); err != nil {
		return err
	}
	if l.opts.testHook != nil {
		return l.opts.testHook(seq, true)
	}
	return nil
}

// retryable says whether an INSERT error may pass: anything but a server exception that will
// recur (unknown table, bad type, no permission, …).
func retryable(err error) bool {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return true
	}
	switch ex.Code {
	case 159, 202, 203, 209, 210, 241, 242, 252, 279, 285, 286, 319, 999:
		// timeout, too many queries, no free connection, socket timeout, network error, memory
		// limit, read-only replica, too many parts, all connection tries failed, too few live
		// replicas, quorum, unknown insert status, keeper
		return true
	}
	return false
}

func (l *loader) filesOf(rs *rowset) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for _, id := range rs.loads {
		names = append(names, l.attempts[id].path)
	}
	if len(names) > 3 {
		return fmt.Sprintf("%s (and %d more files)", strings.Join(names[:3], ", "), len(names)-3)
	}
	return strings.Join(names, ", ")
}

// buffered is the number of rows held by the sinks, not yet queued.
func (l *loader) buffered() int {
	n := 0
	for _, s := range l.sinks {
		if s.rs != nil {
			n += s.rs.n
		}
	}
	return n
}

// newSink is ingest.Run's sink factory: the k-th call of a run gets the k-th sink, so the
// sinks (and their partly filled rowsets) live across files.
func (l *loader) newSink() ingest.Sink {
	if l.calls == len(l.sinks) {
		l.sinks = append(l.sinks, &sink{l: l})
	}
	s := l.sinks[l.calls]
	l.calls++
	s.load, s.rows, s.minDay, s.maxDay = l.load, 0, 65535, 0
	return s
}

// loadFile records an attempt and reads one file into the sinks.
func (l *loader) loadFile(in input, h hashed) (*pendingFile, *ingest.FileStats, error) {
	if err := l.failed(); err != nil {
		return nil, nil, err
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, nil, err
	}
	id := binary.LittleEndian.Uint64(idb[:]) >> 1 // positive as Int64 too, for readers that cast
	l.mu.Lock()
	l.attempts[id] = &attempt{path: in.name, hash: h.hash}
	l.mu.Unlock()

	l.load, l.calls = id, 0
	opts := l.opts.Ingest
	if report := opts.Progress; report != nil {
		// ingest.Run sees one file; the progress is of the whole load.
		opts.Progress = func(p ingest.Progress) {
			p.FileIndex, p.Files = in.index, l.files
			report(p)
		}
	}
	path := in.path
	sum, err := ingest.Run(l.ctx, []string{path}, opts, l.newSink)
	if err != nil {
		if ferr := l.failed(); ferr != nil {
			return nil, nil, ferr
		}
		var ie *ingest.InputError
		var nf *ingest.NoFormatError
		if in.path != in.name && (errors.As(err, &ie) || errors.As(err, &nf)) {
			err = errors.New(strings.ReplaceAll(err.Error(), in.path, in.name))
			if nf != nil {
				nf.File = in.name
				err = nf
			}
		}
		return nil, nil, l.ctxErr(err)
	}
	fs := sum.Files[0]
	fs.Name = in.name
	pf := &pendingFile{in: in, hash: h, load: id, stats: fs, minDay: 65535}
	for _, s := range l.sinks[:l.calls] {
		pf.rows += s.rows
		pf.minDay, pf.maxDay = min(pf.minDay, s.minDay), max(pf.maxDay, s.maxDay)
	}
	if st, err := os.Stat(in.path); err != nil || st.Size() != h.size || !st.ModTime().Equal(h.modTime) {
		return nil, nil, &FileError{Path: in.name, Err: errors.New("the file changed while it was loaded (still being written?): not committed; load it once it is complete")}
	}
	return pf, fs, nil
}

func (l *loader) ctxErr(err error) error {
	if l.ctx.Err() != nil {
		if c := context.Cause(l.ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
	}
	return err
}

// maxPendingFiles bounds the files committed together (their load ids make one IN list).
const maxPendingFiles = 1000

// maxReloads is how many times a file whose row count came out wrong is loaded again in the same
// run (under a new load_id) before the load gives up on it.
const maxReloads = 2

// commitPending commits the pending files once the sinks hold a batch's worth of rows (or
// maxPendingFiles wait), or now when final. Files whose row count check failed (an INSERT
// retried after a lost acknowledgement) are loaded again, up to maxReloads times, and committed
// with the next ones.
func (l *loader) commitPending(pending *[]*pendingFile, sum *LoadSummary, final bool) error {
	for len(*pending) > 0 && (final || l.buffered() >= l.opts.BatchRows || len(*pending) >= maxPendingFiles) {
		files := *pending
		*pending = nil
		retry, err := l.commit(files, sum)
		if err != nil {
			return err
		}
		for _, f := range retry {
			if f.reloads >= maxReloads {
				sum.Files[f.result].Status = StatusFailed
				return &FileError{Path: f.in.name, Err: fmt.Errorf(
					"the server holds %d rows for this load, %d were sent (INSERTs retried after lost connections landed twice, %d times): not committed; run load again",
					f.held, f.rows, f.reloads+1)}
			}
			if err := l.s.collectStrays(l.ctx, f.hash.hash); err != nil {
				return err
			}
			again, _, err := l.loadFile(f.in, f.hash)
			if err != nil {
				return err
			}
			again.result, again.reloads = f.result, f.reloads+1
			*pending = append(*pending, again)
		}
		if !final {
			return nil
		}
	}
	return nil
}

// commit sends every buffered row, waits for the INSERTs, checks the row counts per attempt and
// writes the manifest rows of the files that passed; it returns the files that did not.
func (l *loader) commit(files []*pendingFile, sum *LoadSummary) ([]*pendingFile, error) {
	for _, s := range l.sinks {
		if s.rs != nil && s.rs.n > 0 {
			l.send(s.rs)
		}
		s.rs = nil
	}
	l.inflight.Wait()
	if err := l.failed(); err != nil {
		return nil, err
	}
	if err := l.ctx.Err(); err != nil {
		return nil, context.Cause(l.ctx)
	}
	if len(files) == 0 {
		return nil, nil
	}
	var held map[uint64]int64
	if n, err := l.retrying(func() (err error) { held, err = l.heldRows(files); return err }, nil); err != nil {
		return nil, l.commitError(files, "counting the rows loaded", n, err)
	}
	var ok, bad []*pendingFile
	for _, f := range files {
		if held[f.load] != f.rows {
			f.held = held[f.load]
			bad = append(bad, f)
			continue
		}
		ok = append(ok, f)
	}
	// A manifest row written twice by a retry is harmless: the manifest is read as a set.
	if n, err := l.retrying(func() error { return l.writeManifest(ok) }, nil); err != nil {
		return nil, l.commitError(ok, "writing the manifest", n, err)
	}
	for _, f := range ok {
		r := &sum.Files[f.result]
		r.Status = StatusLoaded
		if f.stats.Ignored != "" && f.stats.Records == 0 {
			r.Status = StatusIgnored
		}
	}
	return bad, nil
}

// writeManifest writes the manifest rows that commit files.
func (l *loader) writeManifest(files []*pendingFile) error {
	if len(files) == 0 {
		return nil
	}
	q := "INSERT INTO " + l.s.table(manifestTable) + " (hash, load_id, path, format, size, unit, lines, records, rows, skipped, skips, loaded)"
	b, err := l.s.conn.PrepareBatch(l.ctx, q)
	if err != nil {
		return l.ctxErr(l.s.wrap(err, q))
	}
	now := time.Now()
	for _, f := range files {
		skips, _ := json.Marshal(f.stats.Skips)
		if err := b.Append(f.hash.hash, f.load, f.in.name, f.stats.Format, uint64(f.hash.size), f.stats.Unit,
			f.stats.Lines, f.stats.Records, f.rows, f.stats.Skipped, string(skips), now); err != nil {
			b.Abort()
			return l.s.wrap(err, q)
		}
	}
	if err := b.Send(); err != nil {
		return l.ctxErr(l.s.wrap(err, q))
	}
	return nil
}

// heldRows counts the rows the server holds per attempt, reading only the days the files cover.
func (l *loader) heldRows(files []*pendingFile) (map[uint64]int64, error) {
	var ids []string
	minDay, maxDay := uint16(65535), uint16(0)
	for _, f := range files {
		if f.rows == 0 {
			continue
		}
		ids = append(ids, fmt.Sprint(f.load))
		minDay, maxDay = min(minDay, f.minDay), max(maxDay, f.maxDay)
	}
	held := map[uint64]int64{}
	if len(ids) == 0 {
		return held, nil
	}
	slices.Sort(ids)
	q := heldRowsSQL(l.s.table(flowsTable), minDay, maxDay, strings.Join(ids, ", "))
	rows, err := l.s.conn.Query(l.ctx, q)
	if err != nil {
		return nil, l.ctxErr(l.s.wrap(err, q))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id uint64
			n  uint64
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, l.s.wrap(err, q)
		}
		held[id] = int64(n)
	}
	return held, rows.Err()
}

// heldRowsSQL counts rows per attempt among ids, reading only the partitions of days
// [minDay, maxDay].
func heldRowsSQL(flows string, minDay, maxDay uint16, ids string) string {
	return fmt.Sprintf("SELECT load_id, count() FROM %s WHERE day >= toDate('%s') AND day <= toDate('%s') AND load_id IN (%s) GROUP BY load_id",
		flows, dateString(minDay), dateString(maxDay), ids)
}

func dateString(day uint16) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// sink is one ingest worker's record sink: it appends to its rowset and queues the rowset when
// full. It allocates nothing per record (except for DNS answers and tags, see rowset.add).
type sink struct {
	l              *loader
	rs             *rowset
	load           uint64
	rows           int64
	minDay, maxDay uint16
}

// Add implements ingest.Sink. Application events that name nothing and carry no payload or
// alert add nothing to any aggregate, and are not stored (the embedded engine drops them too).
func (s *sink) Add(r *flow.Record) {
	payload := len(r.PayloadOut) > 0 || len(r.PayloadIn) > 0
	if r.Kind == flow.KindEvent && !r.HasNames() && !payload && r.Alert == "" {
		return
	}
	if s.rs == nil {
		s.rs = s.l.getRowset()
	}
	day := s.rs.add(r, payload, s.load)
	s.rows++
	s.minDay, s.maxDay = min(s.minDay, day), max(s.maxDay, day)
	if s.rs.n >= s.l.opts.BatchRows {
		s.l.send(s.rs)
		s.rs = nil
	}
}
