// Command flowhunt finds compromised hosts in network logs. This package is wiring only: flags,
// config file, output selection and exit codes; the analysis lives in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/flowhunt/flowhunt/internal/eval"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // analysis failed for another reason
	exitUsage = 2 // bad usage, or an input that is missing, unreadable or unrecognised
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The engine's heap is mostly long-lived aggregates: collecting at 2× instead of 1× growth
		// measured 9% faster on the 10M-line benchmark for 13% more peak memory.
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if isCobraUsage(err) {
		err = &flagError{err}
	}
	fmt.Fprintln(stderr, "flowhunt:", err)
	if code := exitCode(err); code != exitUsage || !isFlagError(err) {
		return code
	}
	fmt.Fprintln(stderr, "Run 'flowhunt --help' for usage.")
	return exitUsage
}

func exitCode(err error) int {
	var (
		ie *ingest.InputError
		nf *ingest.NoFormatError
		ue *hunt.UsageError
		fe *flagError
		pe *fs.PathError
		ee *eval.FileError
	)
	switch {
	case errors.As(err, &ie), errors.As(err, &nf), errors.As(err, &ue), errors.As(err, &fe), errors.As(err, &pe), errors.As(err, &ee):
		return exitUsage
	}
	return exitError
}

// isCobraUsage recognises cobra's argument errors, which it returns untyped.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "invalid argument", "unknown shorthand", "unknown flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func isFlagError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

// flagError marks usage errors found by cobra or by our own flag checks.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "flowhunt",
		Short: "Find compromised hosts in network logs",
		Long: `flowhunt reads network logs (pfSense/OPNsense filterlog, CSV/TSV flow exports including
Argus binetflow and nfdump CSV, Zeek conn/dns/ssl/http logs, Suricata eve.json, pcap/pcapng,
NetFlow v5/v9/IPFIX; plain, gzip, zstd or bzip2), works out which hosts are internal, runs its
detectors and ranks the internal hosts with the evidence behind every score. Logs too big for
one machine go to ClickHouse (load, then hunt --engine).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.AddCommand(newHuntCmd(), newLoadCmd(), newServeCmd(), newCollectCmd(), newDemoCmd(), newSimulateCmd(), newEvalCmd(), newVersionCmd())
	return root
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, and the versions of the embedded lists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "flowhunt %s\n%s\n", versionString(), listVersions())
			return nil
		},
	}
}
