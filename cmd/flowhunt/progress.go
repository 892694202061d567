package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressRedraw is the shortest gap between two drawn files when files end faster than that:
// a directory of thousands of small logs then shows its count moving, not a flicker per file.
const progressRedraw = 100 * time.Millisecond

// Columns of a bar line besides the description: percentage, the bar at its narrowest, bytes
// and rate, elapsed and ETA: " 41% |██████    | (500 MB/1.2 GB, 31 MB/s) [16s:22s]". The
// description gets what the terminal has left, so the line does not wrap and scroll.
const (
	progressBarCols   = 10
	progressFixedCols = 46 + progressBarCols
)

// newProgress returns the callback for ingest.Options.Progress, drawing on w, and a stop
// function that clears the bar; call stop before anything else is written to the terminal.
// Unless w is a terminal and quiet is off, the callback is nil and stop does nothing, so the
// reader pays nothing for progress no one would see.
func newProgress(w io.Writer, terminal, quiet bool) (progress func(ingest.Progress), stop func()) {
	if !terminal || quiet {
		return nil, func() {}
	}
	v := &progressView{w: w, file: -1}
	v.endFile(time.Now())
	return v.update, v.stop
}

// isTerminalWriter reports whether w is an *os.File on a terminal.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// progressView draws one bar per input file: name (i/n), records/s, percentage of bytes read,
// bytes and MB/s, elapsed and ETA. For an input of unknown size (stdin) it shows a spinner with
// the same counts and no percentage or ETA. The callback comes from one goroutine only.
type progressView struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // the current file's; nil before its first draw
	next  *progressbar.ProgressBar // started when the previous file ended, so rates count from there
	file  int                      // FileIndex of bar
	sized bool                     // bar has been given the file's size
	// fileStart is when the current file began (the previous one's end, or the start), for records/s.
	fileStart time.Time
	drawn     time.Time // last time anything was drawn
	shown     bool      // a bar is on the screen
	stopped   bool
}

// newFileBar makes a bar for one file, started but not drawn. The size is set at the file's
// first report; until then it is a spinner. Its rates count from now, the moment the previous
// file ended, because the first report comes only after the reader's first interval.
func newFileBar(w io.Writer) *progressbar.ProgressBar {
	b := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(2*progressBarCols), // narrowed to fit the terminal, down to 0
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionUseANSICodes(true),          // clear to end of line, so a shorter line leaves no tail
		progressbar.OptionSetSpinnerChangeInterval(0), // no drawing goroutine: nothing drawn after stop
		progressbar.OptionSpinnerType(14),
	)
	b.StartWithoutRender()
	return b
}

func (v *progressView) update(p ingest.Progress) {
	if v.stopped {
		return
	}
	now := time.Now()
	if p.FileIndex != v.file {
		v.file, v.bar, v.sized = p.FileIndex, nil, false
	}
	if v.bar == nil && p.Done && p.FileIndex < p.Files-1 && now.Sub(v.drawn) < progressRedraw {
		v.endFile(now) // a file that came and went between two draws
		return
	}
	if v.bar == nil {
		v.bar, v.next = v.next, nil
		if v.bar == nil {
			v.bar = newFileBar(v.w)
		}
	}
	// Describe first: a bar that reaches its size draws its last frame in Set64 and nothing after.
	v.bar.Describe(describeFile(p, now.Sub(v.fileStart), terminalCols(v.w)))
	read := p.BytesRead
	if p.BytesTotal > 0 {
		if !v.sized {
			v.bar.ChangeMax64(p.BytesTotal) // from spinner to bar
			v.sized = true
		}
		read = min(read, p.BytesTotal) // a log still being written can outgrow its size at open
	}
	_ = v.bar.Set64(read)
	v.drawn, v.shown = now, true
	if p.Done {
		v.endFile(now)
	}
}

// endFile starts the next file's bar, so its rates count from the moment this file ended.
func (v *progressView) endFile(now time.Time) {
	v.next = newFileBar(v.w)
	v.fileStart = now
}

// stop clears the bar and draws nothing more.
func (v *progressView) stop() {
	if v.stopped {
		return
	}
	v.stopped = true
	if v.shown {
		fmt.Fprint(v.w, "\r\033[2K")
	}
}

// describeFile is the text before the bar, "conn.log.gz (3/12) 410k rec/s ", with the name
// shortened to what cols leave: the path as given, else its base name, else the base name's end.
func describeFile(p ingest.Progress, elapsed time.Duration, cols int) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.Records) / s
	}
	rest := fmt.Sprintf(" (%d/%d) %s rec/s ", p.FileIndex+1, p.Files, siCount(rate))
	width := max(cols-progressFixedCols-len(rest), 16)
	name := report.Printable(p.File)
	if utf8.RuneCountInString(name) > width {
		name = filepath.Base(name)
	}
	if r := []rune(name); len(r) > width {
		name = "…" + string(r[len(r)-width+1:])
	}
	return name + rest
}

// terminalCols is the width of the terminal w writes to; 80 when it cannot be told.
func terminalCols(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

// siCount writes a count short, with a k, M or G suffix: 950, 8.5k, 412k, 1.2M.
func siCount(n float64) string {
	for _, u := range []struct {
		size   float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if n >= u.size {
			if n/u.size < 10 {
				return fmt.Sprintf("%.1f%s", n/u.size, u.suffix)
			}
			return fmt.Sprintf("%.0f%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("%.0f", n)
}
