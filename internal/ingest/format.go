package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/valyala/fastjson"
)

// Options configures reading. The zero value sniffs every input and reads naive timestamps as UTC.
type Options struct {
	Format   string         // force a format by name; "" sniffs each input
	Columns  []string       // CSV column roles for headerless or unmapped files (ts,src,dst,...)
	Location *time.Location // zone for timestamps that carry none; nil is UTC
	Workers  int            // parse workers; 0 is GOMAXPROCS
	// Now anchors year-less syslog timestamps (RFC 3164): such a date is placed in the latest year
	// that does not put it after Now. Zero uses the file's modification time.
	Now time.Time
	// BlockSize is the unit of work handed to a parse worker; 0 is 256 KiB.
	BlockSize int
	// Progress, when set, is called from the reading goroutine at most about every 100 ms, and
	// once per file (Done) when all of the file's records are parsed, so that call's Records is
	// exact; never per record. Calls come in file order. It must return quickly: reading waits
	// for it.
	Progress func(p Progress)
}

// Progress is how far reading one input has got. BytesRead counts raw bytes taken from the file
// as stored, before decompression, so for a .gz or .zst it is compressed bytes against the
// compressed size, which keeps percentage and ETA meaningful without knowing the decompressed size.
type Progress struct {
	File      string // as reported in FileStats.Name ("stdin" for -)
	FileIndex int    // 0-based position of File among the inputs
	Files     int    // number of inputs after directories are expanded
	BytesRead int64  // raw bytes read so far; runs ahead of parsing by the blocks queued for workers
	// BytesTotal is the file's size on disk; 0 when unknown (stdin, a pipe or other non-regular file).
	BytesTotal int64
	Records    int64 // records parsed so far; exact when Done
	Done       bool  // the last call for this file: reading and parsing it has finished
}

func (o *Options) location() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// Sink receives parsed records. Each worker gets its own Sink, so a Sink need not be safe for
// concurrent use. Add must not keep r or anything r points to after it returns.
type Sink interface {
	Add(r *flow.Record)
}

// Scratch is a parse worker's reusable state, so parsers allocate nothing per line.
type Scratch struct {
	Fields [][]byte
	JSON   fastjson.Parser
}

// lineParser parses data lines of one format, bound to the header state in force for them. It is
// shared by all workers and must not be modified after the splitter hands it out.
type lineParser interface {
	// Parse fills r (already reset) from line (no trailing newline or CR). It returns errNoRecord
	// for a line that carries nothing and is not an error.
	Parse(sc *Scratch, line []byte, r *flow.Record) error
}

// lineFormat is a line-oriented text format. The splitter calls Control in file order for the
// first line of the file and for each line beginning with ControlPrefix; Parser is then asked for
// the parser to use for the data lines that follow.
type lineFormat interface {
	Name() string
	ControlPrefix() byte // 0 when only the first line may be a header
	// Control handles a header or directive line and reports whether it consumed it. An error of
	// type *ignoreFile stops reading the file without counting it as a failure.
	Control(line []byte, lineNo int64) (bool, error)
	Parser() lineParser
}

// ignoreFile stops a file whose content is well-formed but holds no flows (a Zeek weird.log).
type ignoreFile struct{ why string }

func (e *ignoreFile) Error() string { return e.why }

// format is a detected input format: a lineFormat (text, parsed in parallel by line) or a
// recordFormat (binary, decoded in order by one goroutine).
type format interface {
	Name() string
}

// sniffer recognises a format from the first bytes of a decompressed input and returns a fresh
// format for it, or nil. head holds up to 64 KiB; name is the file's base name, only a hint.
type sniffer struct {
	name  string
	sniff func(head []byte, name string, opts *Options) (format, error)
}

type sniffFunc[F format] func(head []byte, name string, opts *Options) (F, error)

// sniffAs adapts a sniffer returning a concrete format kind, keeping a nil result an untyped nil.
func sniffAs[F format](f sniffFunc[F]) func([]byte, string, *Options) (format, error) {
	return func(head []byte, name string, opts *Options) (format, error) {
		got, err := f(head, name, opts)
		if any(got) == nil {
			return nil, err
		}
		return got, err
	}
}

// sniffers in the order they are tried; binary and stricter formats first.
func sniffers() []sniffer {
	return []sniffer{
		{"pcap", sniffAs(sniffPcap)},
		{"zeek", sniffAs(sniffZeekTSV)},
		{"eve", sniffAs(sniffEve)},
		{"zeek-json", sniffAs(sniffZeekJSON)},
		{"filterlog", sniffAs(sniffFilterlog)},
		{"csv", sniffAs(sniffCSV)},
	}
}

// FormatNames lists the formats --format accepts.
func FormatNames() []string {
	var names []string
	for _, s := range sniffers() {
		names = append(names, s.name)
	}
	return append(names, "tsv", "binetflow", "nfdump-csv")
}

// NoFormatError is an input that matches none of the formats tried.
type NoFormatError struct {
	File  string
	Tried []string
	Why   []string // per tried format, why it did not match (when known)
}

func (e *NoFormatError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: not a recognised log format (tried %s)", e.File, strings.Join(e.Tried, ", "))
	for i, w := range e.Why {
		if w != "" {
			fmt.Fprintf(&b, "; %s: %s", e.Tried[i], w)
		}
	}
	return b.String()
}

func detect(head []byte, in input, opts *Options) (format, error) {
	all := sniffers()
	if opts.Format != "" {
		want := opts.Format
		switch want {
		case "tsv", "binetflow", "nfdump-csv":
			want = "csv" // the CSV reader detects the delimiter and the dialect
		}
		for _, s := range all {
			if s.name == want {
				f, err := s.sniff(head, in.hintName, opts)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", in.name, s.name, err)
				}
				if f == nil {
					return nil, &NoFormatError{File: in.name, Tried: []string{s.name}}
				}
				return f, nil
			}
		}
		return nil, fmt.Errorf("unknown format %q (known: %s)", opts.Format, strings.Join(FormatNames(), ", "))
	}
	nf := &NoFormatError{File: in.name}
	for _, s := range all {
		f, err := s.sniff(head, in.hintName, opts)
		if f != nil && err == nil {
			return f, nil
		}
		nf.Tried = append(nf.Tried, s.name)
		why := ""
		if err != nil {
			why = err.Error()
		}
		nf.Why = append(nf.Why, why)
	}
	return nil, nf
}

// headLines splits the sniffing window into complete lines (the last, possibly partial, line is
// dropped unless it is all there is), without trailing CRs.
func headLines(head []byte, max int) [][]byte {
	var lines [][]byte
	for len(head) > 0 && len(lines) < max {
		i := bytes.IndexByte(head, '\n')
		var line []byte
		if i < 0 {
			if len(lines) > 0 && len(head) == 64<<10 {
				break
			}
			line, head = head, nil
		} else {
			line, head = head[:i], head[i+1:]
		}
		lines = append(lines, bytes.TrimSuffix(line, []byte{'\r'}))
	}
	return lines
}
