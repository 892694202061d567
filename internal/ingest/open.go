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

// openStream opens in and returns its decompressed content, the compression found ("" when
// none) and a closer.
func openStream(in input) (io.Reader, string, func() error, error) {
	var raw io.ReadCloser
	if in.path == "-" {
		raw = io.NopCloser(os.Stdin)
	} else {
		f, err := os.Open(in.path)
		if err != nil {
			return nil, "", nil, &InputError{Path: in.path, Err: unwrapPathError(err)}
		}
		raw = f
	}
	br := bufio.NewReaderSize(raw, 256<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			raw.Close()
			return nil, "", nil, fmt.Errorf("%s: gzip: %w", in.name, err)
		}
		return zr, "gzip", raw.Close, nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			raw.Close()
			return nil, "", nil, fmt.Errorf("%s: zstd: %w", in.name, err)
		}
		return zr, "zstd", func() error { zr.Close(); return raw.Close() }, nil
	case bytes.HasPrefix(head, magicBzip2) && len(head) == 4 && head[3] >= '1' && head[3] <= '9':
		return bzip2.NewReader(br), "bzip2", raw.Close, nil
	}
	return br, "", raw.Close, nil
}
