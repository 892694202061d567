package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/intel"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/flowhunt/flowhunt/internal/score"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type huntFlags struct {
	output     string
	out        string
	internal   []string
	infer      bool
	format     string
	columns    []string
	tz         string
	workHours  string
	dnsMaps    []string
	allow      []string
	all        bool
	categories []string
	pivot      string
	explain    string
	workers    int
	config     string
	quiet      bool
	html       string
	eng        engineFlags // --engine, --cluster, --from, --to: the ClickHouse backend (load.go)
}

const huntExamples = `  # A pfSense log, private ranges internal (the default); names for pools from a reverse-DNS map
  flowhunt hunt --dns-map rdns.txt router.log

  # A CSV export where a public range is used internally; hand on the mining hosts as an ip list
  flowhunt hunt --internal 120.18.0.0/16 --dns-map rdns.txt -o ips --category miner flows.csv > ips.csv

  # Let flowhunt work out the internal ranges, and say what it inferred
  flowhunt hunt --infer-internal flows.csv.gz

  # A headerless CSV: name the columns
  flowhunt hunt --columns ts,src,dst,sport,dport,proto,bytes --tz Europe/Prague export.csv

  # A directory of daily Zeek folders, JSON report to a file
  flowhunt hunt -o json --out findings.json /nsm/zeek/logs/

  # Every internal host that talked to a suspicious destination
  flowhunt hunt --pivot 203.0.113.7 router.log

  # Settings kept for a network in a file (keys are flag names)
  flowhunt hunt --config site.yaml logs/

  # Hunt flows stored in ClickHouse by 'flowhunt load', one day of them
  flowhunt hunt --engine clickhouse://127.0.0.1:9000/netlogs --from 2024-04-19 --to 2024-04-20`

func newHuntCmd() *cobra.Command {
	var f huntFlags
	cmd := &cobra.Command{
		Use:   "hunt [flags] PATH...",
		Short: "Analyse logs and rank compromised internal hosts",
		Long: `hunt reads every PATH (files, directories, or - for stdin), detects each format by content,
aggregates flows per host and per host pair, runs the detectors and prints the internal hosts
with at least one finding, most suspicious first, each with the evidence behind its score.

Formats: ` + strings.Join(ingest.FormatNames(), ", ") + `; gzip, zstd and bzip2 are read transparently.
Exit status: 0 done (whether or not hosts were flagged), 2 usage error or unreadable/unrecognised input, 1 other failure.`,
		Example: huntExamples,
		Args:    cobra.ArbitraryArgs, // checked after --config, which may give --engine
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := applyConfig(cmd, f.config)
			if err != nil {
				return err
			}
			if len(args) == 0 && f.eng.url == "" {
				return usageErr("hunt needs at least one PATH (a file, a directory, or - for stdin)")
			}
			return runHunt(cmd, args, &f, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "output format: table, json, csv, ips (default table on a terminal, json otherwise)")
	fl.StringVar(&f.out, "out", "", "write the output to `FILE` instead of stdout")
	f.addAnalysisFlags(cmd)
	fl.StringSliceVar(&f.categories, "category", nil, "only report these categories: "+strings.Join(detect.Categories, ", "))
	fl.StringVar(&f.pivot, "pivot", "", "list every internal host that originated flows to `IP`, instead of the ranking")
	fl.StringVar(&f.explain, "explain", "", "print all the evidence for one host `IP`: findings and candidates, top peers, activity sparklines")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML report (tables and plots, opens offline) to `FILE`")
	f.eng.add(cmd, true)
	addProfileFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "csv", "ips"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("category", cobra.FixedCompletions(detect.Categories, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// addAnalysisFlags registers the flags that shape an analysis (inputs, scope, detectors), shared
// by every command that runs one.
func (f *huntFlags) addAnalysisFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.internal, "internal", nil, "internal ranges, `CIDR,...` (default RFC 1918, 100.64/10, 169.254/16, fc00::/7, fe80::/10)")
	fl.BoolVar(&f.infer, "infer-internal", false, "also infer internal ranges from the data (reported in the summary)")
	fl.StringVar(&f.format, "format", "", "force an input format: "+strings.Join(ingest.FormatNames(), ", "))
	fl.StringSliceVar(&f.columns, "columns", nil, "CSV column roles by position, e.g. `ts,src,dst,sport,dport,proto,bytes` (- skips a column)")
	fl.StringVar(&f.tz, "tz", "", "the network's time zone, e.g. `Asia/Jerusalem`: for timestamps that carry none, and for working hours (default UTC)")
	fl.StringVar(&f.workHours, "work-hours", "", "working hours `HH-HH` in --tz, e.g. 07-19 (default: learned from the network's activity, else 07-19)")
	fl.StringSliceVar(&f.dnsMaps, "dns-map", nil, "names for addresses: `FILE` of \"IP name\" lines or a Zeek dns.log (repeatable)")
	fl.StringSliceVar(&f.allow, "allow", nil, "known-good destinations: `FILE` of addresses, CIDRs and domain names, set aside before detection (repeatable)")
	fl.BoolVar(&f.all, "all", false, "also list sub-threshold candidates (marked \"flagged\": false)")
	fl.IntVar(&f.workers, "workers", 0, "parse workers (default: one per CPU)")
	fl.StringVar(&f.config, "config", "", "read flag defaults from a YAML `FILE` (keys are flag names; detector thresholds under 'detectors:')")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no warnings or progress bar on stderr")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(ingest.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
}

func runHunt(cmd *cobra.Command, paths []string, f *huntFlags, dcfg detect.Config) error {
	opts, err := f.huntOptions(paths, dcfg)
	if err != nil {
		return err
	}
	var pivot, explain netip.Addr
	if f.pivot != "" {
		if pivot, err = netip.ParseAddr(f.pivot); err != nil {
			return usageErr("--pivot %q: not an IP address", f.pivot)
		}
	}
	if f.explain != "" {
		if explain, err = netip.ParseAddr(f.explain); err != nil {
			return usageErr("--explain %q: not an IP address", f.explain)
		}
		opts.All = true // candidates are part of the explanation
		explain = explain.Unmap()
	}
	for _, c := range f.categories {
		if !slices.Contains(detect.Categories, c) {
			return usageErr("--category %q: unknown (known: %s)", c, strings.Join(detect.Categories, ", "))
		}
	}
	w, closeOut, err := openOut(cmd, f.out)
	if err != nil {
		return err
	}
	output := f.output
	if output == "" {
		output = "json"
		if f.out == "" && isTerminal(os.Stdout) {
			output = "table"
		}
	}
	if !slices.Contains([]string{"table", "json", "csv", "ips"}, output) {
		closeOut()
		return usageErr("-o %q: want table, json, csv or ips", output)
	}

	var htmlOut *os.File
	if f.html != "" {
		if htmlOut, err = os.Create(f.html); err != nil {
			closeOut()
			return usageErr("--html: %v", err)
		}
		defer htmlOut.Close()
	}
	var stopProgress func()
	opts.Ingest.Progress, stopProgress = newProgress(cmd.ErrOrStderr(), isTerminalWriter(cmd.ErrOrStderr()), f.quiet)
	res, err := hunt.Run(cmd.Context(), opts)
	stopProgress() // before anything else reaches the terminal, the error too
	if err != nil {
		closeOut()
		return err
	}
	r := res.Report
	if !f.quiet && output != "table" {
		warn(cmd.ErrOrStderr(), r)
	}
	switch {
	case explain.IsValid():
		var host *score.Host
		for i := range r.Hosts {
			if r.Hosts[i].Addr == explain {
				host = &r.Hosts[i]
			}
		}
		err = report.Explain(w, explain, host, res.View)
	case pivot.IsValid():
		err = writePivot(w, output, score.Pivot(res.View, pivot))
	default:
		r.Hosts = report.Filter(r.Hosts, f.categories)
		switch output {
		case "table":
			err = report.Table(w, r)
		case "json":
			err = report.JSON(w, r)
		case "csv":
			err = report.CSV(w, r)
		case "ips":
			err = report.IPList(w, r)
		}
	}
	if err == nil && htmlOut != nil {
		if err = report.HTML(htmlOut, r, res.View, 0); err == nil {
			err = htmlOut.Close()
		}
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	return err
}

func (f *huntFlags) huntOptions(paths []string, dcfg detect.Config) (hunt.Options, error) {
	o := hunt.Options{
		Paths: paths, Internal: f.internal, InferInternal: f.infer, DNSMaps: f.dnsMaps, AllowLists: f.allow,
		Detect: dcfg, All: f.all, Version: versionString(),
		Ingest: ingest.Options{Format: f.format, Columns: f.columns, Workers: f.workers},
	}
	if f.format != "" && !slices.Contains(ingest.FormatNames(), f.format) {
		return o, usageErr("--format %q: unknown (known: %s)", f.format, strings.Join(ingest.FormatNames(), ", "))
	}
	if f.tz != "" {
		loc, err := time.LoadLocation(f.tz)
		if err != nil {
			return o, usageErr("--tz %q: %v", f.tz, err)
		}
		o.Ingest.Location = loc
		o.Detect.OffHours.Location, o.Detect.Exfil.Location = f.tz, f.tz
	}
	if f.workHours != "" {
		var start, end int
		if n, err := fmt.Sscanf(f.workHours, "%d-%d", &start, &end); err != nil || n != 2 || start < 0 || end > 24 || start >= end {
			return o, usageErr("--work-hours %q: want HH-HH with start before end, e.g. 07-19", f.workHours)
		}
		o.Detect.OffHours.WorkStart, o.Detect.OffHours.WorkEnd, o.Detect.OffHours.LearnHours = start, end, false
		o.Detect.Exfil.WorkStart, o.Detect.Exfil.WorkEnd = start, end
	}
	if f.eng.url != "" {
		cfg, err := f.eng.config()
		if err != nil {
			return o, err
		}
		r, err := f.eng.timeRange(o.Ingest.Location)
		if err != nil {
			return o, err
		}
		o.Aggregates = f.eng.aggregates(cfg, r)
	} else if f.eng.from != "" || f.eng.to != "" || f.eng.cluster != "" {
		return o, usageErr("--from, --to and --cluster need --engine: the embedded engine reads whole files")
	}
	return o, nil
}

// warn prints skipped-line summaries and notes to stderr when the output itself is data.
func warn(w io.Writer, r *report.Run) {
	for _, fs := range r.Ingest.Files {
		if line := fs.SkipSummary(); line != "" {
			fmt.Fprintln(w, "flowhunt: warning:", report.Printable(line))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "flowhunt: note: %s: %s\n", n.Detector, n.Text)
	}
}

func writePivot(w io.Writer, output string, cs []score.Contact) error {
	switch output {
	case "json":
		return report.PivotJSON(w, cs)
	case "csv", "ips":
		fmt.Fprintln(w, "ip")
		for _, c := range cs {
			fmt.Fprintln(w, c.Host)
		}
		return nil
	}
	return report.PivotTable(w, cs)
}

func openOut(cmd *cobra.Command, path string) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return cmd.OutOrStdout(), func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, usageErr("--out: %v", err)
	}
	return f, f.Close, nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func listVersions() string {
	p := intel.MiningPools()
	_, pv := intel.MiningPorts()
	return fmt.Sprintf("mining pools list %s (%d domains), mining ports list %s", p.Version, p.Len(), pv)
}
