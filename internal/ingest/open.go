package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// input is one file to read: a path, or "-" for standard input.
type input struct {
	path     string
	name     string // as reported
	fromDir  bool   // found by walking a directory: unknown content is noted, not an error
	hintName string // base name without compression suffixes, a hint for sniffing
}

// InputError is a path that does not exist or cannot be read. The CLI exits 2 on it.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// expand resolves paths into files: directories are walked (sorted, hidden entries skipped).
func expand(paths []string) ([]input, error) {
	var out []input
	for _, p := range paths {
		if p == "-" {
			out = append(out, input{path: "-", name: "stdin"})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, &InputError{Path: p, Err: unwrapPathError(err)}
		}
		if !st.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				return nil, &InputError{Path: p, Err: unwrapPathError(err)}
			}
			f.Close()
			out = append(out, input{path: p, name: p, hintName: hintName(p)})
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return &InputError{Path: path, Err: unwrapPathError(err)}
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
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			out = append(out, input{path: f, name: f, fromDir: true, hintName: hintName(f)})
		}
	}
	return out, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// hintName strips directories and compression suffixes: "x/conn.00:00:00-01:00:00.log.gz" →
// "conn.00:00:00-01:00:00.log".
func hintName(p string) string {
	b := filepath.Base(p)
	for _, s := range []string{".gz", ".zst", ".zstd", ".bz2"} {
		b = strings.TrimSuffix(b, s)
	}
	return b
}

// Compression magic numbers.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2 = []byte("BZh")
)

// stream is an opened input: its decompressed content and what is known of its raw bytes.
type stream struct {
	r           io.Reader
	compression string // "" when none
	close       func() error
	raw         *countingReader // bytes taken from the file as stored, before decompression
	file        *os.File        // nil for stdin
}

// size is the file's size on disk, 0 when unknown (stdin, a pipe or other non-regular file).
// Asked only when progress is reported: a stat allocates.
func (s stream) size() int64 {
	if s.file == nil {
		return 0
	}
	st, err := s.file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	return st.Size()
}

// countingReader counts the bytes read through it. The count is atomic so that progress can be
// read without caring which goroutine a decompressor reads in; it is added to once per buffer
// fill (256 KiB), not per line, so it costs nothing measurable.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openStream opens in and returns its decompressed content. The raw file is counted before the
// decompressor, so progress is measured against the size on disk.
func openStream(in input) (stream, error) {
	var (
		raw  io.ReadCloser
		file *os.File
	)
	if in.path == "-" {
		raw = io.NopCloser(os.Stdin)
	} else {
		f, err := os.Open(in.path)
		if err != nil {
			return stream{}, &InputError{Path: in.path, Err: unwrapPathError(err)}
		}
		raw, file = f, f
	}
	counted := &countingReader{r: raw}
	br := bufio.NewReaderSize(counted, 256<<10)
	s := stream{r: br, close: raw.Close, raw: counted, file: file}
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			raw.Close()
			return stream{}, fmt.Errorf("%s: gzip: %w", in.name, err)
		}
		s.r, s.compression = zr, "gzip"
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			raw.Close()
			return stream{}, fmt.Errorf("%s: zstd: %w", in.name, err)
		}
		s.r, s.compression = zr, "zstd"
		s.close = func() error { zr.Close(); return raw.Close() }
	case bytes.HasPrefix(head, magicBzip2) && len(head) == 4 && head[3] >= '1' && head[3] <= '9':
		s.r, s.compression = bzip2.NewReader(br), "bzip2"
	}
	return s, nil
}
