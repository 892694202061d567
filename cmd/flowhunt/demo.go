package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowhunt/flowhunt/internal/eval"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/flowhunt/flowhunt/internal/sim"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var (
		keep  bool
		seed  uint64
		hosts int
		days  int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a small network with planted miners and hunt it (no input needed)",
		Long: `demo simulates seed 000, "Mine Over Matter": a pfSense log of a 172.16.0.0/12 office network
in which two hosts mine Monero over port 443, beside a busy build server and a developer using
port 3333. It writes the log and a reverse-DNS map to a temporary directory, runs the same hunt a
user would, prints the ranking and the command to reproduce it, and compares with the truth.`,
		Example: "  flowhunt demo\n  flowhunt demo --seed 7 --hosts 60 --days 3 --keep",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sim.MinerNetwork(sim.Config{Hosts: hosts, Days: days, Seed: seed})
			if err != nil {
				return usageErr("%v", err)
			}
			dir, err := os.MkdirTemp("", "flowhunt-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			logPath, mapPath := filepath.Join(dir, "router.log"), filepath.Join(dir, "rdns.txt")
			if err := writeFile(logPath, func(f *os.File) error { return sim.WriteFilterlog(f, sc.Records) }); err != nil {
				return err
			}
			if err := writeFile(mapPath, func(f *os.File) error { return sim.WriteNames(f, sc.Names) }); err != nil {
				return err
			}
			res, err := hunt.Run(cmd.Context(), hunt.Options{
				Paths: []string{logPath}, DNSMaps: []string{mapPath}, Internal: sc.Truth.Internal,
				Detect: defaultDetect(), Version: versionString(),
				Ingest: ingest.Options{Now: sim.EndOf(sc)},
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Simulated %d flows: %d hosts in %s over %d day(s), seed %d.\n", len(sc.Records), hosts, sc.Truth.Internal[0], days, seed)
			fmt.Fprintf(out, "Planted: miners %s.\n", strings.Join(sortedKeys(sc.Truth.Hosts), ", "))
			for _, ip := range sortedKeys(sc.Truth.LookAlikes) {
				la := sc.Truth.LookAlikes[ip]
				fmt.Fprintf(out, "Benign look-alike (%s): %s, %s.\n", la.Imitates, ip, la.What)
			}
			fmt.Fprintln(out)
			if err := report.Table(out, res.Report); err != nil {
				return err
			}
			// Score the hunt against the truth, as 'flowhunt eval' does.
			var doc bytes.Buffer
			if err := report.JSON(&doc, res.Report); err != nil {
				return err
			}
			var findings eval.Findings
			if err := json.Unmarshal(doc.Bytes(), &findings); err != nil {
				return err
			}
			fmt.Fprintln(out, "\nAgainst the planted truth:")
			if err := eval.Table(out, eval.Score(&sc.Truth, &findings)); err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(out, "\nReproduce: flowhunt hunt --internal %s --dns-map %s %s\n", sc.Truth.Internal[0], mapPath, logPath)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the generated files and print where they are")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().IntVar(&hosts, "hosts", 40, "internal hosts")
	cmd.Flags().IntVar(&days, "days", 2, "days of traffic")
	return cmd
}

func writeFile(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
