// Package report renders a hunt's ranked hosts and run summary as JSON (the stable output
// contract), CSV (one row per finding, the list an analyst hands on) and a terminal table. Log
// content is attacker-controlled, so every string is escaped for the medium it goes to.
package report

import (
	"math"
	"slices"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/score"
)

// Run is everything a report needs about one hunt.
type Run struct {
	Hosts  []score.Host
	Ingest *ingest.Summary
	Scope  *netscope.Scope
	// ScopeSource says where the internal ranges came from: "given", "default" or "inferred".
	ScopeSource   string
	InternalHosts int
	First, Last   int64 // Unix ns span of the flows
	Notes         []detect.Note
	All           bool // sub-threshold candidates included: findings carry "flagged"
	Version       string
	// Location is the network's time zone (--tz), for hour-of-day views; nil is UTC.
	Location *time.Location
}

// Document is the JSON output contract (DESIGN.md): hosts, then summary.
type Document struct {
	Hosts   []HostDoc `json:"hosts"`
	Summary Summary   `json:"summary"`
}

// HostDoc is one ranked host.
type HostDoc struct {
	IP       string       `json:"ip"`
	Score    float64      `json:"score"`
	Findings []FindingDoc `json:"findings"`
}

// FindingDoc is one finding of a host.
type FindingDoc struct {
	Category string         `json:"category"`
	Score    float64        `json:"score"`
	Flagged  *bool          `json:"flagged,omitempty"` // present with --all only
	Peers    []string       `json:"peers"`
	Reason   string         `json:"reason"`
	Evidence map[string]any `json:"evidence"`
}

// Summary says what was read and how.
type Summary struct {
	Records         int64               `json:"records"`
	Skipped         int64               `json:"skipped"`
	Hosts           int                 `json:"hosts"`   // internal hosts that originated flows
	Flagged         int                 `json:"flagged"` // hosts listed with a flagged finding
	Internal        []string            `json:"internal"`
	InternalSource  string              `json:"internal_source"`
	Inferred        []netscope.Inferred `json:"inferred,omitempty"`
	Formats         map[string]int      `json:"formats"`
	SkippedByReason map[string]int64    `json:"skipped_by_reason,omitempty"`
	From            string              `json:"from,omitempty"`
	To              string              `json:"to,omitempty"`
	Files           []*ingest.FileStats `json:"files"`
	Notes           []detect.Note       `json:"notes,omitempty"`
	Version         string              `json:"version,omitempty"`
}

// Build turns a run into the JSON document.
func Build(r *Run) Document {
	doc := Document{Hosts: make([]HostDoc, 0, len(r.Hosts))}
	flagged := 0
	for _, h := range r.Hosts {
		if h.Flagged {
			flagged++
		}
		hd := HostDoc{IP: h.Addr.String(), Score: round3(h.Score), Findings: make([]FindingDoc, 0, len(h.Findings))}
		for _, f := range h.Findings {
			fd := FindingDoc{Category: f.Category, Score: round3(f.Score), Peers: f.Peers, Reason: f.Reason, Evidence: f.Evidence}
			if fd.Peers == nil {
				fd.Peers = []string{}
			}
			if fd.Evidence == nil {
				fd.Evidence = map[string]any{}
			}
			if r.All {
				b := f.Flagged
				fd.Flagged = &b
			}
			hd.Findings = append(hd.Findings, fd)
		}
		doc.Hosts = append(doc.Hosts, hd)
	}
	s := Summary{
		Hosts: r.InternalHosts, Flagged: flagged, InternalSource: r.ScopeSource,
		Notes: r.Notes, Version: r.Version, Formats: map[string]int{}, Files: []*ingest.FileStats{},
	}
	if r.Scope != nil {
		s.Internal = r.Scope.Strings()
		s.Inferred = r.Scope.Inferred
	}
	if s.Internal == nil {
		s.Internal = []string{}
	}
	if r.Ingest != nil {
		s.Records, s.Skipped, s.Formats, s.Files = r.Ingest.Records, r.Ingest.Skipped, r.Ingest.Formats(), r.Ingest.Files
		if s.Skipped > 0 {
			s.SkippedByReason = r.Ingest.SkipsByReason()
		}
	}
	if r.First != 0 || r.Last != 0 {
		s.From = time.Unix(0, r.First).UTC().Format(time.RFC3339)
		s.To = time.Unix(0, r.Last).UTC().Format(time.RFC3339)
	}
	doc.Summary = s
	return doc
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Filter keeps the hosts with a finding in one of cats (all hosts when cats is empty), and within
// them only those findings.
func Filter(hosts []score.Host, cats []string) []score.Host {
	if len(cats) == 0 {
		return hosts
	}
	var out []score.Host
	for _, h := range hosts {
		var keep []detect.Finding
		for _, f := range h.Findings {
			for _, c := range cats {
				if f.Category == c {
					keep = append(keep, f)
				}
			}
		}
		if len(keep) > 0 {
			h.Findings = keep
			out = append(out, h)
		}
	}
	return out
}

func sortedFormatKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
