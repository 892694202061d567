// Package hunt wires one analysis end to end: read the inputs, aggregate, decide which addresses
// are internal, run the detectors and rank the hosts. The CLI, the demo and the end-to-end tests
// all go through Run, so they cannot drift apart.
package hunt

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/intel"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/flowhunt/flowhunt/internal/score"
)

// Options is one hunt's configuration.
type Options struct {
	Paths         []string
	Ingest        ingest.Options
	Internal      []string // CIDRs; empty uses netscope.DefaultRanges
	InferInternal bool
	DNSMaps       []string // hosts-style "IP name" files or Zeek dns.logs
	AllowLists    []string // known-good destinations: addresses, CIDRs, domain names
	Detect        detect.Config
	All           bool
	Version       string
	// Aggregates, when set, supplies the aggregates instead of reading Paths with the embedded
	// engine: hunt --engine clickhouse://… computes them in the server (internal/chstore) and
	// everything after the merge runs unchanged.
	Aggregates func(ctx context.Context) (*engine.Memory, *ingest.Summary, error)
}

// Result is a finished hunt: the report's input and the aggregates behind it.
type Result struct {
	Report *report.Run
	View   *engine.Memory
}

// Run performs the hunt.
func Run(ctx context.Context, o Options) (*Result, error) {
	scope, source, err := givenScope(o.Internal)
	if err != nil {
		return nil, err
	}
	paths := append([]string(nil), o.Paths...)
	names := intel.NameMap{}
	for _, f := range o.DNSMaps {
		m, err := readNameMap(f)
		if errors.Is(err, intel.ErrNotHosts) {
			paths = append(paths, f) // a Zeek dns.log: its answers feed the name map as events
			continue
		}
		if err != nil {
			return nil, err
		}
		for a, ns := range m {
			names[a] = append(names[a], ns...)
		}
	}

	var (
		view *engine.Memory
		sum  *ingest.Summary
	)
	if o.Aggregates != nil {
		if len(paths) > 0 {
			return nil, &UsageError{errors.New("with --engine, hunt reads what flowhunt load stored: load the PATHs (and Zeek dns.logs given as --dns-map) with flowhunt load")}
		}
		if view, sum, err = o.Aggregates(ctx); err != nil {
			return nil, err
		}
	} else {
		agg := engine.NewAggregator()
		sum, err = ingest.Run(ctx, paths, o.Ingest, func() ingest.Sink { return agg.NewShard() })
		view = agg.Merge() // also on error: it stops the aggregation goroutines
		if err != nil {
			return nil, err
		}
	}
	for a, ns := range names {
		view.AddNames(a, ns...)
	}
	if o.InferInternal {
		for _, inf := range netscope.Infer(view.Activities(), view.Flows()) {
			if scope.Contains(inf.Prefix.Addr()) {
				continue // already internal
			}
			scope.Add(inf.Prefix)
			scope.Inferred = append(scope.Inferred, inf)
		}
		if len(scope.Inferred) > 0 {
			source += "+inferred"
		}
	}
	var allowNote []detect.Note
	// Multicast and broadcast address the local network, not one host: device discovery (SSDP,
	// mDNS, LLMNR, NetBIOS, DHCP) calls them on a timer from every host. Kept, they read as
	// external beacons and talkers; no detector looks for a compromise in them.
	if pairs, flows := view.Exclude(func(dst netip.Addr, _ []string) bool { return isGroupAddr(dst) }); pairs > 0 {
		allowNote = append(allowNote, detect.Note{Detector: "scope", Text: fmt.Sprintf(
			"%d flows (%d host pairs) to multicast and broadcast addresses (device discovery: SSDP, mDNS, LLMNR, NetBIOS, DHCP) set aside: they address the local network, not a host", flows, pairs)})
	}
	if len(o.AllowLists) > 0 {
		lists, err := readAllowLists(o.AllowLists)
		if err != nil {
			return nil, err
		}
		pairs, flows := view.Exclude(func(dst netip.Addr, names []string) bool {
			for _, l := range lists {
				if l.Allows(dst, names) {
					return true
				}
			}
			return false
		})
		allowNote = append(allowNote, detect.Note{Detector: "allow", Text: fmt.Sprintf(
			"%d flows (%d host pairs) to allow-listed destinations set aside before detection", flows, pairs)})
	}
	view.Apply(scope)

	findings, notes := detect.Run(view, o.Detect)
	notes = append(allowNote, notes...)
	if n := view.OrphanTags(); n > 0 {
		notes = append(notes, detect.Note{Detector: "alerts", Text: fmt.Sprintf(
			"%d IDS alert signatures name flows that are not in the input (no flow record for their pair): they are not attached to any finding", n)})
	}
	if view.InternalHosts() == 0 && view.Flows() > 0 {
		notes = append([]detect.Note{{Detector: "scope", Text: fmt.Sprintf(
			"no flow originates from the internal ranges (%s): pass --internal CIDR,... or --infer-internal",
			joinMax(scope.Strings(), 4))}}, notes...)
	}
	first, last := view.Span()
	var loc *time.Location
	if o.Detect.OffHours.Location != "" {
		loc, _ = time.LoadLocation(o.Detect.OffHours.Location) // a bad name is the off-hours detector's note
	}
	return &Result{
		Report: &report.Run{
			Hosts: score.Rank(findings, o.All), Ingest: sum, Scope: scope, ScopeSource: source,
			InternalHosts: view.InternalHosts(), First: first, Last: last, Notes: notes, All: o.All, Version: o.Version, Location: loc,
		},
		View: view,
	}, nil
}

func givenScope(cidrs []string) (*netscope.Scope, string, error) {
	if len(cidrs) == 0 {
		return netscope.Default(), "default", nil
	}
	s, err := netscope.Parse(cidrs)
	if err != nil {
		return nil, "", &UsageError{err}
	}
	return s, "given", nil
}

func readNameMap(path string) (intel.NameMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ingest.InputError{Path: path, Err: err}
	}
	defer f.Close()
	return intel.ReadHosts(f, path)
}

func readAllowLists(paths []string) ([]*intel.AllowList, error) {
	var lists []*intel.AllowList
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, &ingest.InputError{Path: p, Err: err}
		}
		l, err := intel.ReadAllowList(f, p)
		f.Close()
		if err != nil {
			return nil, &UsageError{err}
		}
		lists = append(lists, l)
	}
	return lists, nil
}

// UsageError is a bad flag value; the CLI exits 2 on it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// isGroupAddr reports multicast addresses and the IPv4 limited broadcast.
func isGroupAddr(a netip.Addr) bool {
	return a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func joinMax(s []string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%s, … %d more", joinMax(s[:n], n), len(s)-n)
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
