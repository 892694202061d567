package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/ingest"
)

func TestProgressSilentOffTerminal(t *testing.T) {
	f := func(name string, terminal, quiet bool) {
		t.Helper()
		var buf bytes.Buffer
		report, stop := newProgress(&buf, terminal, quiet)
		if report != nil {
			t.Errorf("%s: a progress callback, want none so the reader does no progress work", name)
			report(ingest.Progress{File: "flows.csv", Files: 1, BytesRead: 10, BytesTotal: 20, Done: true})
		}
		stop()
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %q, want nothing", name, buf.String())
		}
	}
	f("pipe", false, false)
	f("terminal, --quiet", true, true)
	f("pipe, --quiet", false, true)
}

func TestProgressDrawsOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	report, stop := newProgress(&buf, true, false) // a fake terminal
	if report == nil {
		t.Fatal("no progress callback on a terminal")
	}
	// f feeds one report and checks what it drew.
	f := func(p ingest.Progress, want ...string) {
		t.Helper()
		buf.Reset()
		report(p)
		for _, w := range want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%+v drew %q, want it to contain %q", p, buf.String(), w)
			}
		}
	}
	f(ingest.Progress{File: "/logs/flows.csv.gz", Files: 2, BytesRead: 500_000, BytesTotal: 1_000_000, Records: 7000},
		"flows.csv.gz (1/2)", "50%", "rec/s", "500 kB/1.0 MB") // half way: name, i/n, percentage, rates, bytes
	f(ingest.Progress{File: "/logs/flows.csv.gz", Files: 2, BytesRead: 1_000_000, BytesTotal: 1_000_000, Records: 14000, Done: true},
		"100%", "1.0/1.0 MB") // done: the last frame is drawn
	f(ingest.Progress{File: "stdin", FileIndex: 1, Files: 2, BytesRead: 3_000_000, Records: 42000},
		"stdin (2/2)", "3.0 MB", "rec/s") // unknown size: counts without a percentage
	if strings.Contains(buf.String(), "%") {
		t.Errorf("unknown size drew a percentage: %q", buf.String())
	}

	buf.Reset()
	stop()
	if got := buf.String(); got != "\r\033[2K" {
		t.Errorf("stop wrote %q, want the line cleared", got)
	}
	buf.Reset()
	report(ingest.Progress{File: "late", FileIndex: 1, Files: 2, BytesRead: 4_000_000, Records: 50000})
	if buf.Len() != 0 {
		t.Errorf("drew %q after stop", buf.String())
	}
}

func TestProgressNotOnPipedStderr(t *testing.T) {
	// In-process runs write stderr to a buffer, as a pipe would: no bar, no control characters.
	code, _, stderr := cli(t, "hunt", "-o", "json", scenarioDir(t))
	if code != 0 || strings.ContainsAny(stderr, "\r\033") {
		t.Errorf("exit %d, stderr %q: want 0 and no progress drawing", code, stderr)
	}
}

func TestProgressText(t *testing.T) {
	f := func(n float64, want string) {
		t.Helper()
		if got := siCount(n); got != want {
			t.Errorf("siCount(%v) = %q, want %q", n, got, want)
		}
	}
	f(0, "0")
	f(950, "950")
	f(8_500, "8.5k")
	f(412_000, "412k")
	f(1_234_567, "1.2M")
	f(3e9, "3.0G")
	g := func(file string, cols int, want string) {
		t.Helper()
		p := ingest.Progress{File: file, FileIndex: 2, Files: 12}
		if got := describeFile(p, time.Second, cols); got != want {
			t.Errorf("describeFile(%q, %d cols) = %q, want %q", file, cols, got, want)
		}
	}
	const zeek = "/nsm/zeek/2024-05-01/conn.00:00:00-01:00:00.log.gz"
	g(zeek, 160, zeek+" (3/12) 0 rec/s ")                         // wide: the path as given
	g(zeek, 102, "conn.00:00:00-01:00:00.log.gz (3/12) 0 rec/s ") // the base name
	g(zeek, 80, "…01:00:00.log.gz (3/12) 0 rec/s ")               // 80 columns: the base name's end
	g("stdin", 80, "stdin (3/12) 0 rec/s ")                       // short names stay
}
