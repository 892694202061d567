package main

import (
	"io"
	"os"
	"slices"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/sim"
	"github.com/spf13/cobra"
)

func newSimulateCmd() *cobra.Command {
	var (
		scenario, format, out string
		hosts, days, records  int
		seed                  uint64
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Write simulated traffic with known truth (for demos, tests and benchmarks)",
		Long: `simulate writes generated traffic to --out (stdout when -).
Scenarios: "miner" (seed 000: filterlog or csv, plus rdns.txt and truth.json when --out is a
directory) and "bench" (a seed-003-layout CSV of --records flows, streamed, for throughput).`,
		Example: "  flowhunt simulate --scenario bench --records 10000000 --out /tmp/flows.csv\n" +
			"  flowhunt simulate --scenario miner --format filterlog --out /tmp/miner/",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch scenario {
			case "bench":
				if cmd.Flags().Changed("format") && format != "csv" {
					return usageErr("scenario bench writes csv only")
				}
				return withOut(cmd, out, func(w io.Writer) error { return sim.WriteBenchCSV(w, records, seed) })
			case "miner":
				sc, err := sim.MinerNetwork(sim.Config{Hosts: hosts, Days: days, Seed: seed})
				if err != nil {
					return usageErr("%v", err)
				}
				return sim.WriteScenario(sc, format, out, cmd.OutOrStdout())
			}
			return usageErr("--scenario %q: want miner or bench", scenario)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&scenario, "scenario", "miner", "scenario: miner, bench")
	fl.StringVar(&format, "format", "filterlog", "output format: filterlog, csv")
	fl.StringVar(&out, "out", "-", "output file or directory (- is stdout)")
	fl.IntVar(&hosts, "hosts", 40, "internal hosts")
	fl.IntVar(&days, "days", 2, "days of traffic")
	fl.IntVar(&records, "records", 1_000_000, "flows to write (bench)")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

func withOut(cmd *cobra.Command, path string, fill func(io.Writer) error) error {
	if path == "-" || path == "" {
		return fill(cmd.OutOrStdout())
	}
	return writeFile(path, func(f *os.File) error { return fill(f) })
}

func defaultDetect() detect.Config { return detect.Defaults() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
