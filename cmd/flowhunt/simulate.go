package main

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/sim"
	"github.com/spf13/cobra"
)

func newSimulateCmd() *cobra.Command {
	var (
		scenario, format, out, internal string
		hosts, days, records            int
		seed                            uint64
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Write simulated traffic with known truth (for demos, tests and benchmarks)",
		Long: `simulate writes generated traffic to --out (stdout when -).
Scenarios:
  office  an organisation network with one planted group per threat category and a benign
          look-alike for each (see internal/sim/office.go for the full list)
  miner   seed 000: a pfSense-logged office where two hosts mine over port 443
  bench   a seed-003-layout CSV of --records flows, streamed, for throughput benchmarks
When --out is a directory (existing, or ending in /), the flows, an "IP name" reverse-DNS map
(rdns.txt) and the ground truth (truth.json, for flowhunt eval) are written there.`,
		Example: "  flowhunt simulate --scenario office --hosts 120 --days 5 --seed 7 --format zeek --out /tmp/office/\n" +
			"  flowhunt simulate --scenario office --internal 120.18.0.0/16 --format csv --out /tmp/seed003/\n" +
			"  flowhunt simulate --scenario miner --format filterlog --out /tmp/miner/\n" +
			"  flowhunt simulate --scenario bench --records 10000000 --out /tmp/flows.csv",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch scenario {
			case "bench":
				if format != "csv" {
					return usageErr("scenario bench writes csv only")
				}
				return withOut(cmd, out, func(w io.Writer) error { return sim.WriteBenchCSV(w, records, seed) })
			case "miner", "office":
				var (
					sc  *sim.Scenario
					err error
				)
				if scenario == "miner" {
					sc, err = sim.MinerNetwork(sim.Config{Hosts: hosts, Days: days, Seed: seed})
				} else {
					oc := sim.OfficeConfig{Config: sim.Config{Hosts: hosts, Days: days, Seed: seed}}
					if internal != "" {
						if oc.Internal, err = netip.ParsePrefix(internal); err != nil {
							return usageErr("--internal %q: %v", internal, err)
						}
					}
					sc, err = sim.Office(oc)
				}
				if err != nil {
					return usageErr("%v", err)
				}
				if err := sim.WriteScenario(sc, format, out, cmd.OutOrStdout()); err != nil {
					var fe *sim.FormatError
					if errors.As(err, &fe) {
						return usageErr("%v", err)
					}
					return err
				}
				return nil
			}
			return usageErr("--scenario %q: want office, miner or bench", scenario)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&scenario, "scenario", "office", "scenario: office, miner, bench")
	fl.StringVar(&format, "format", "csv", "output format: "+strings.Join(sim.Formats, ", "))
	fl.StringVar(&internal, "internal", "", "office: the internal range, e.g. 120.18.0.0/16 (default 10.20.0.0/16)")
	fl.StringVar(&out, "out", "-", "output file or directory (- is stdout)")
	fl.IntVar(&hosts, "hosts", 80, "internal hosts")
	fl.IntVar(&days, "days", 3, "days of traffic")
	fl.IntVar(&records, "records", 1_000_000, "flows to write (bench)")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	addProfileFlags(cmd)
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
