package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/chstore"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/spf13/cobra"
)

// engineFlags select the ClickHouse backend. Credentials come from --ch-user/--ch-password (or
// the same keys in --config), else from the URL, else from FLOWHUNT_CH_USER and
// FLOWHUNT_CH_PASSWORD. They are never flag defaults, so --help cannot show them, and
// chstore.Config.String, which every message uses, leaves them out.
type engineFlags struct {
	url      string
	cluster  string
	user     string
	password string
	from, to string // hunt only
}

func (e *engineFlags) add(cmd *cobra.Command, timeRange bool) {
	fl := cmd.Flags()
	fl.StringVar(&e.url, "engine", "", "ClickHouse server and database, `clickhouse://host:9000/db` (clickhouses:// or ?secure=true for TLS)")
	fl.StringVar(&e.cluster, "cluster", "", "distribute the flows table over the shards of this ClickHouse `CLUSTER` (remote_servers)")
	fl.StringVar(&e.user, "ch-user", "", "ClickHouse user (default: from the URL, else $"+chstore.EnvUser+", else default)")
	fl.StringVar(&e.password, "ch-password", "", "ClickHouse password (default: from the URL, else $"+chstore.EnvPassword+")")
	if timeRange {
		fl.StringVar(&e.from, "from", "", "with --engine: only flows that started at or after `TIME` (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] in --tz, or Unix seconds)")
		fl.StringVar(&e.to, "to", "", "with --engine: only flows that started before `TIME`")
	}
}

// config resolves the ClickHouse configuration; flags win over the URL's credentials.
func (e *engineFlags) config() (chstore.Config, error) {
	cfg, err := chstore.ParseURL(e.url)
	if err != nil {
		return cfg, &flagError{err}
	}
	if e.user != "" {
		cfg.User = e.user
	}
	if e.password != "" {
		cfg.Password = e.password
	}
	cfg.Cluster = e.cluster
	return cfg, nil
}

// timeRange parses --from and --to, times without a zone in loc.
func (e *engineFlags) timeRange(loc *time.Location) (chstore.Range, error) {
	var r chstore.Range
	var err error
	if e.from != "" {
		if r.From, err = parseWhen(e.from, loc); err != nil {
			return r, usageErr("--from %q: %v", e.from, err)
		}
	}
	if e.to != "" {
		if r.To, err = parseWhen(e.to, loc); err != nil {
			return r, usageErr("--to %q: %v", e.to, err)
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return r, usageErr("--from %s is not before --to %s", e.from, e.to)
	}
	return r, nil
}

func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or Unix seconds")
}

// aggregates returns hunt.Options.Aggregates for the ClickHouse backend.
func (e *engineFlags) aggregates(cfg chstore.Config, r chstore.Range) func(context.Context) (*engine.Memory, *ingest.Summary, error) {
	return func(ctx context.Context) (*engine.Memory, *ingest.Summary, error) {
		st, err := chstore.Open(ctx, cfg)
		if err != nil {
			return nil, nil, serverErr(err)
		}
		defer st.Close()
		m, sum, err := st.Aggregate(ctx, r)
		return m, sum, serverErr(err)
	}
}

// serverErr makes an unreachable server or an empty database a usage error (exit 2): the
// input named by --engine cannot be used.
func serverErr(err error) error {
	var se *chstore.ServerError
	if errors.As(err, &se) {
		return &hunt.UsageError{Err: err}
	}
	return err
}

type loadFlags struct {
	eng       engineFlags
	format    string
	columns   []string
	tz        string
	workers   int
	batchRows int
	config    string
	quiet     bool
}

const loadExamples = `  # Load a day of Zeek logs into a local server, then hunt there
  flowhunt load --engine clickhouse://127.0.0.1:9000/netlogs /nsm/zeek/logs/2024-04-19/
  flowhunt hunt --engine clickhouse://127.0.0.1:9000/netlogs --internal 10.0.0.0/8

  # Hourly import from cron: files already loaded are skipped by content
  flowhunt load -q --engine clickhouse://ch1:9000/netlogs /nsm/zeek/logs/

  # Spread the flows over a cluster's shards; the password from the environment
  FLOWHUNT_CH_PASSWORD=... flowhunt load --engine clickhouse://flowhunt@ch1:9000/netlogs --cluster logs_2x flows.csv.gz`

func newLoadCmd() *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load --engine clickhouse://HOST:9000/DB [flags] PATH...",
		Short: "Store flows in ClickHouse, for hunting logs too big for one machine",
		Long: `load reads every PATH (files, directories, or - for stdin) with the same readers as hunt and
stores their flows and events in ClickHouse, creating the database and tables when missing (with
--cluster, a Distributed table over local tables on each shard). A file whose content was loaded
before is skipped, so re-running a load or importing a growing directory never duplicates rows;
an interrupted load can simply be run again. Then run hunt with the same --engine.

Exit status: 0 done, 2 usage error, unreadable input or unreachable server, 1 other failure.`,
		Example: loadExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := applyConfig(cmd, f.config); err != nil {
				return err
			}
			return runLoad(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	f.eng.add(cmd, false)
	fl.StringVar(&f.format, "format", "", "force an input format: "+strings.Join(ingest.FormatNames(), ", "))
	fl.StringSliceVar(&f.columns, "columns", nil, "CSV column roles by position, e.g. `ts,src,dst,sport,dport,proto,bytes` (- skips a column)")
	fl.StringVar(&f.tz, "tz", "", "time zone for timestamps that carry none, e.g. `Asia/Jerusalem` (default UTC)")
	fl.IntVar(&f.workers, "workers", 0, "parse workers (default: one per CPU)")
	fl.IntVar(&f.batchRows, "batch-rows", 0, "rows per INSERT (default 262144)")
	fl.StringVar(&f.config, "config", "", "read flag defaults from a YAML `FILE` (keys are flag names)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no warnings, summary or progress bar on stderr")
	addProfileFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(ingest.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runLoad(cmd *cobra.Command, paths []string, f *loadFlags) error {
	if f.eng.url == "" {
		return usageErr("load needs --engine clickhouse://HOST:9000/DB")
	}
	if len(paths) == 0 {
		return usageErr("load needs at least one PATH (a file, a directory, or - for stdin)")
	}
	if f.format != "" && !slices.Contains(ingest.FormatNames(), f.format) {
		return usageErr("--format %q: unknown (known: %s)", f.format, strings.Join(ingest.FormatNames(), ", "))
	}
	if f.batchRows < 0 {
		return usageErr("--batch-rows %d: want a positive number", f.batchRows)
	}
	cfg, err := f.eng.config()
	if err != nil {
		return err
	}
	opts := chstore.LoadOptions{BatchRows: f.batchRows,
		Ingest: ingest.Options{Format: f.format, Columns: f.columns, Workers: f.workers}}
	if f.tz != "" {
		if opts.Ingest.Location, err = time.LoadLocation(f.tz); err != nil {
			return usageErr("--tz %q: %v", f.tz, err)
		}
	}
	for _, p := range paths { // a typo in a path is reported before any connection is made
		if p == "-" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return &ingest.InputError{Path: p, Err: errors.Unwrap(err)}
		}
	}
	ctx := cmd.Context()
	st, err := chstore.Open(ctx, cfg)
	if err != nil {
		return serverErr(err)
	}
	defer st.Close()
	var stopProgress func()
	opts.Ingest.Progress, stopProgress = newProgress(cmd.ErrOrStderr(), isTerminalWriter(cmd.ErrOrStderr()), f.quiet)
	start := time.Now()
	sum, err := st.Load(ctx, paths, opts)
	stopProgress()
	if sum != nil && !f.quiet {
		writeLoadSummary(cmd.ErrOrStderr(), cfg, sum, time.Since(start))
	}
	return serverErr(err)
}

// writeLoadSummary prints the per-file skip summaries (as hunt does) and one line of totals.
func writeLoadSummary(w io.Writer, cfg chstore.Config, sum *chstore.LoadSummary, took time.Duration) {
	for _, fs := range sum.Ingest.Files {
		if line := fs.SkipSummary(); line != "" {
			fmt.Fprintln(w, "flowhunt: warning:", report.Printable(line))
		}
	}
	var skipped int64
	for _, fs := range sum.Ingest.Files {
		skipped += fs.Skipped
	}
	rate := ""
	if s := took.Seconds(); s > 0 && sum.Rows > 0 {
		rate = fmt.Sprintf(", %.0f rows/s", float64(sum.Rows)/s)
	}
	fmt.Fprintf(w, "flowhunt: %s: loaded %d files (%d rows, %d lines skipped), skipped %d already loaded, ignored %d, in %s%s\n",
		cfg, sum.Loaded, sum.Rows, skipped, sum.Skipped, sum.Ignored, took.Round(time.Millisecond), rate)
	if n := len(sum.Files) - sum.Loaded - sum.Skipped - sum.Ignored; n > 0 {
		fmt.Fprintf(w, "flowhunt: %d files read but not committed: run the same load again\n", n)
	}
}
