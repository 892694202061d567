package ingest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Skip counts the lines of one file skipped for one reason.
type Skip struct {
	Reason    string `json:"reason"`
	Count     int64  `json:"count"`
	FirstLine int64  `json:"first_line"` // 1-based; 0 when the reason is not tied to a line
	Example   string `json:"example"`    // the first error's detail
}

// FileStats is what reading one input produced.
type FileStats struct {
	Name   string `json:"file"`
	Format string `json:"format,omitempty"`
	Lines  int64  `json:"lines"`
	// Unit is what Lines and skip positions count when not lines: "packet" for a capture.
	Unit    string `json:"unit,omitempty"`
	Records int64  `json:"records"`
	Skipped int64  `json:"skipped"`
	Skips   []Skip `json:"skips,omitempty"`
	// Columns lists how CSV header columns were mapped ("src_ip→src") and UnusedColumns the
	// columns no role took, so a user can see what was read and what was not.
	Columns       []string `json:"columns,omitempty"`
	UnusedColumns []string `json:"unused_columns,omitempty"`
	// Ignored says why a file found while walking a directory was not read (not a flow log).
	Ignored string `json:"ignored,omitempty"`

	mu    sync.Mutex
	index map[string]int
}

func (s *FileStats) addSkip(reason string, line int64, example string, n int64) {
	if s.index == nil {
		s.index = make(map[string]int)
	}
	s.Skipped += n
	i, ok := s.index[reason]
	if !ok {
		s.index[reason] = len(s.Skips)
		s.Skips = append(s.Skips, Skip{Reason: reason, Count: n, FirstLine: line, Example: example})
		return
	}
	sk := &s.Skips[i]
	sk.Count += n
	if line > 0 && (sk.FirstLine == 0 || line < sk.FirstLine) {
		sk.FirstLine, sk.Example = line, example
	}
}

// merge adds a worker's counts for one chunk.
func (s *FileStats) merge(c *chunkStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Records += c.records
	for _, sk := range c.skips {
		s.addSkip(sk.Reason, sk.FirstLine, sk.Example, sk.Count)
	}
}

func (s *FileStats) sortSkips() {
	sort.SliceStable(s.Skips, func(i, j int) bool { return s.Skips[i].Count > s.Skips[j].Count })
}

// SkipSummary renders the skips in one line: "skipped 12 lines: 10 bad timestamp (first at line
// 88: bad timestamp "x"), 2 wrong field count (first at line 3)".
func (s *FileStats) SkipSummary() string {
	if s.Skipped == 0 {
		return ""
	}
	parts := make([]string, 0, len(s.Skips))
	for _, sk := range s.Skips {
		p := fmt.Sprintf("%d %s", sk.Count, sk.Reason)
		if sk.FirstLine > 0 {
			p += fmt.Sprintf(" (first at %s %d", s.unit(), sk.FirstLine)
			if sk.Example != "" && sk.Example != sk.Reason {
				p += ": " + sk.Example
			}
			p += ")"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%s: skipped %d %ss: %s", s.Name, s.Skipped, s.unit(), strings.Join(parts, ", "))
}

func (s *FileStats) unit() string {
	if s.Unit == "" {
		return "line"
	}
	return s.Unit
}

// chunkStats is one worker's tally for one chunk; merged into FileStats under its lock once per
// chunk, so the hot path takes no lock.
type chunkStats struct {
	records int64
	skips   []Skip
}

func (c *chunkStats) reset() {
	c.records = 0
	c.skips = c.skips[:0]
}

func (c *chunkStats) skip(line int64, err error) {
	reason := reasonOf(err)
	for i := range c.skips {
		if c.skips[i].Reason == reason {
			c.skips[i].Count++
			return // lines arrive in order within a chunk: the first stays first
		}
	}
	c.skips = append(c.skips, Skip{Reason: reason, Count: 1, FirstLine: line, Example: err.Error()})
}

// Summary is the result of reading all inputs.
type Summary struct {
	Files   []*FileStats `json:"files"`
	Records int64        `json:"records"`
	Skipped int64        `json:"skipped"`
}

// Formats counts files per detected format.
func (s *Summary) Formats() map[string]int {
	m := make(map[string]int)
	for _, f := range s.Files {
		if f.Format != "" && f.Ignored == "" {
			m[f.Format]++
		}
	}
	return m
}

// SkipsByReason totals skipped lines per reason across files.
func (s *Summary) SkipsByReason() map[string]int64 {
	m := make(map[string]int64)
	for _, f := range s.Files {
		for _, sk := range f.Skips {
			m[sk.Reason] += sk.Count
		}
	}
	return m
}
