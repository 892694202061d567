package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// JSON writes the document, indented. encoding/json escapes <, > and & so the output is also safe
// to embed in HTML.
func JSON(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(r))
}

// CSV writes one row per finding: ip,category,score,peers,reason (peers joined by spaces).
func CSV(w io.Writer, r *Run) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"ip", "category", "score", "peers", "reason"}); err != nil {
		return err
	}
	for _, h := range r.Hosts {
		for _, f := range h.Findings {
			row := []string{h.Addr.String(), f.Category, strconv.FormatFloat(round3(f.Score), 'f', -1, 64),
				csvCell(strings.Join(f.Peers, " ")), csvCell(f.Reason)}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// IPList writes the deliverable of a CTF or an IR hand-off: a CSV with one "ip" column.
func IPList(w io.Writer, r *Run) error {
	if _, err := io.WriteString(w, "ip\n"); err != nil {
		return err
	}
	for _, h := range r.Hosts {
		if _, err := fmt.Fprintln(w, h.Addr); err != nil {
			return err
		}
	}
	return nil
}

// csvCell neutralises spreadsheet formula injection (a cell starting with = + - @ or a control
// character runs as a formula in Excel and LibreOffice) and control characters.
func csvCell(s string) string {
	s = Printable(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Printable escapes control and other non-printable characters as Go escapes (\x1b, \u202e), so
// log content cannot move the cursor, recolour the terminal or reorder text when printed.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// Table writes a ranked table followed by the run summary.
func Table(w io.Writer, r *Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tHOST\tSCORE\tCATEGORIES\tTOP FINDING")
	for i, h := range r.Hosts {
		top := ""
		if len(h.Findings) > 0 {
			top = h.Findings[0].Category + ": " + h.Findings[0].Reason
		}
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%s\t%s\n", i+1, h.Addr, h.Score, strings.Join(h.Categories(), ","), Printable(clip(top, 110)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Hosts) == 0 {
		fmt.Fprintln(w, "(no host flagged)")
	}
	fmt.Fprintln(w)
	return Summarize(w, r)
}

// Summarize writes the run summary as short lines: what was read, what was skipped and why, which
// ranges were internal, and what the detectors could not do.
func Summarize(w io.Writer, r *Run) error {
	d := Build(r)
	s := d.Summary
	var formats []string
	for _, f := range sortedFormatKeys(s.Formats) {
		formats = append(formats, fmt.Sprintf("%s×%d", f, s.Formats[f]))
	}
	fmt.Fprintf(w, "read %d records from %d %s (%s)", s.Records, len(s.Files), plural(len(s.Files), "file"), strings.Join(formats, ", "))
	if s.From != "" {
		fmt.Fprintf(w, ", %s to %s", s.From, s.To)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "internal (%s): %s; %d internal %s, %d flagged\n", s.InternalSource, strings.Join(s.Internal, ", "), s.Hosts, plural(s.Hosts, "host"), s.Flagged)
	for _, inf := range s.Inferred {
		fmt.Fprintf(w, "  inferred %s: %s\n", inf.Prefix, inf.Reason)
	}
	if r.Ingest != nil {
		for _, f := range r.Ingest.Files {
			if line := f.SkipSummary(); line != "" {
				fmt.Fprintln(w, Printable(line))
			}
		}
		ignored := 0
		for _, f := range r.Ingest.Files {
			if f.Ignored != "" {
				ignored++
			}
		}
		if ignored > 0 {
			fmt.Fprintf(w, "ignored %d files that hold no flows (see -o json summary.files)\n", ignored)
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s: %s\n", n.Detector, n.Text)
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
