// Package eval scores a hunt's findings against a scenario's ground truth: per category, the
// hosts found (true positives), the hosts flagged wrongly (false positives) and the hosts missed
// (false negatives), with precision, recall and F1, and the benign look-alikes that were flagged.
package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/flowhunt/flowhunt/internal/sim"
)

// Findings is the part of hunt's JSON output (the output contract) that eval reads.
type Findings struct {
	Hosts []struct {
		IP       string `json:"ip"`
		Findings []struct {
			Category string `json:"category"`
			Flagged  *bool  `json:"flagged"`
		} `json:"findings"`
	} `json:"hosts"`
}

// Row is one category's confusion counts.
type Row struct {
	Category  string   `json:"category"`
	TP        int      `json:"tp"`
	FP        int      `json:"fp"`
	FN        int      `json:"fn"`
	Precision float64  `json:"precision"`
	Recall    float64  `json:"recall"`
	F1        float64  `json:"f1"`
	Missed    []string `json:"missed,omitempty"`
	Wrong     []string `json:"wrong,omitempty"`
}

// Result is a whole evaluation.
type Result struct {
	Rows []Row `json:"categories"`
	// LookAlikesFlagged lists look-alike hosts flagged in the category they imitate.
	LookAlikesFlagged []string `json:"look_alikes_flagged"`
}

// Informational categories rank hosts but are not threats: a scenario plants none, so flagging
// them is not an error. They are scored only when the truth lists hosts for them.
var informational = map[string]bool{"talker": true}

// Score compares findings with the truth. A finding counts when it is flagged (findings written
// with --all carry "flagged": false for candidates, which are not claims).
func Score(truth *sim.Truth, f *Findings) Result {
	flagged := map[string]map[string]bool{} // category → hosts
	for _, h := range f.Hosts {
		for _, fd := range h.Findings {
			if fd.Flagged != nil && !*fd.Flagged {
				continue
			}
			if flagged[fd.Category] == nil {
				flagged[fd.Category] = map[string]bool{}
			}
			flagged[fd.Category][h.IP] = true
		}
	}
	want := map[string]map[string]bool{}
	for ip, cats := range truth.Hosts {
		for _, c := range cats {
			if want[c] == nil {
				want[c] = map[string]bool{}
			}
			want[c][ip] = true
		}
	}
	var cats []string
	for c := range want {
		cats = append(cats, c)
	}
	for c := range flagged {
		if want[c] == nil && !informational[c] {
			cats = append(cats, c)
		}
	}
	slices.Sort(cats)
	var res Result
	for _, c := range cats {
		r := Row{Category: c}
		for ip := range flagged[c] {
			if want[c][ip] {
				r.TP++
			} else {
				r.FP++
				r.Wrong = append(r.Wrong, ip)
			}
		}
		for ip := range want[c] {
			if !flagged[c][ip] {
				r.FN++
				r.Missed = append(r.Missed, ip)
			}
		}
		slices.Sort(r.Missed)
		slices.Sort(r.Wrong)
		r.Precision = ratio(r.TP, r.TP+r.FP)
		r.Recall = ratio(r.TP, r.TP+r.FN)
		if r.Precision+r.Recall > 0 {
			r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
		}
		res.Rows = append(res.Rows, r)
	}
	for ip, la := range truth.LookAlikes {
		if flagged[la.Imitates][ip] {
			res.LookAlikesFlagged = append(res.LookAlikesFlagged, ip)
		}
	}
	slices.Sort(res.LookAlikesFlagged)
	if res.LookAlikesFlagged == nil {
		res.LookAlikesFlagged = []string{}
	}
	return res
}

// ratio is n/d, and 1 when d is 0 (nothing claimed is nothing wrong; nothing planted is nothing
// missed).
func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// ReadTruth reads a truth.json, with errors naming the file.
func ReadTruth(path string) (*sim.Truth, error) {
	var t sim.Truth
	if err := readJSON(path, &t, "not a flowhunt truth.json"); err != nil {
		return nil, err
	}
	if t.Hosts == nil {
		return nil, fmt.Errorf("%s: no \"hosts\" object: not a flowhunt truth.json", path)
	}
	return &t, nil
}

// ReadFindings reads a hunt's -o json output, with errors naming the file.
func ReadFindings(path string) (*Findings, error) {
	var raw struct {
		Findings
		Summary *json.RawMessage `json:"summary"`
	}
	if err := readJSON(path, &raw, "not the output of flowhunt hunt -o json"); err != nil {
		return nil, err
	}
	if raw.Summary == nil {
		return nil, fmt.Errorf("%s: no \"summary\": not the output of flowhunt hunt -o json", path)
	}
	return &raw.Findings, nil
}

// readJSON decodes path into v; notWhat names what the file is not when its JSON has the wrong
// shape.
func readJSON(path string, v any, notWhat string) error {
	f, err := os.Open(path)
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if err := dec.Decode(v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return &FileError{Path: path, Err: fmt.Errorf("%s (field %q holds a JSON %s)", notWhat, te.Field, te.Value)}
		}
		if se, ok := err.(*json.SyntaxError); ok {
			return &FileError{Path: path, Err: fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)}
		}
		return &FileError{Path: path, Err: fmt.Errorf("malformed JSON: %v", err)}
	}
	return nil
}

// FileError is an input file that is missing or malformed.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Table writes the confusion table.
func Table(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CATEGORY\tTP\tFP\tFN\tPRECISION\tRECALL\tF1\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t\n", row.Category, row.TP, row.FP, row.FN, row.Precision, row.Recall, row.F1)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if len(row.Missed) > 0 {
			fmt.Fprintf(w, "%s missed: %v\n", row.Category, row.Missed)
		}
		if len(row.Wrong) > 0 {
			fmt.Fprintf(w, "%s wrongly flagged: %v\n", row.Category, row.Wrong)
		}
	}
	if len(r.LookAlikesFlagged) == 0 {
		fmt.Fprintln(w, "benign look-alikes flagged: 0")
	} else {
		fmt.Fprintf(w, "benign look-alikes flagged: %d %v\n", len(r.LookAlikesFlagged), r.LookAlikesFlagged)
	}
	return nil
}
