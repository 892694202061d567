package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
		keep        bool
		seed        uint64
		hosts, days int
		scenario    string
		format      string
		htmlPath    string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Simulate a network with planted threats and hunt it (no input needed)",
		Long: `demo simulates a network, writes its logs to a temporary directory, runs the same hunt a user
would, prints the ranking, and scores it against the planted truth.

Scenarios: "office" (default) — an organisation network with one planted group per threat
category (miners, beacons, off-hours C2, DNS tunnel, exfiltration, P2P clique, bot herder,
scans, long connection) and a benign look-alike for each, written as Zeek logs; "miner" — seed 000,
"Mine Over Matter": a pfSense log where two hosts mine Monero over port 443.`,
		Example: "  flowhunt demo\n  flowhunt demo --seed 7 --hosts 120 --days 5 --keep\n  flowhunt demo --scenario miner",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("hosts") && scenario == "miner" {
				hosts = 40
			}
			var (
				sc  *sim.Scenario
				err error
			)
			switch scenario {
			case "office":
				sc, err = sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: hosts, Days: days, Seed: seed}})
				if format == "" {
					format = "zeek"
				}
			case "miner":
				sc, err = sim.MinerNetwork(sim.Config{Hosts: hosts, Days: days, Seed: seed})
				if format == "" {
					format = "filterlog"
				}
			default:
				return usageErr("--scenario %q: want office or miner", scenario)
			}
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
			if err := sim.WriteScenario(sc, format, dir+"/", nil); err != nil {
				var fe *sim.FormatError
				if errors.As(err, &fe) {
					return usageErr("%v", err)
				}
				return err
			}
			// The logs only: truth.json is the answer, and rdns.txt is a name map, not a log.
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			var logs []string
			for _, e := range entries {
				if e.Name() != "rdns.txt" && e.Name() != "truth.json" {
					logs = append(logs, filepath.Join(dir, e.Name()))
				}
			}
			opts := hunt.Options{
				Paths: logs, Internal: sc.Truth.Internal, Detect: defaultDetect(), Version: versionString(),
				Ingest: ingest.Options{Now: sim.EndOf(sc)},
			}
			reproduce := fmt.Sprintf("flowhunt hunt --internal %s", sc.Truth.Internal[0])
			if !strings.HasPrefix(format, "zeek") { // Zeek's dns.log names destinations; other formats need the map
				opts.DNSMaps = []string{filepath.Join(dir, "rdns.txt")}
				reproduce += " --dns-map " + opts.DNSMaps[0]
			}
			reproduce += " " + strings.Join(logs, " ")
			res, err := hunt.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Simulated %d records (%s): %d hosts in %s over %d day(s), seed %d.\n", len(sc.Records), format, hosts, sc.Truth.Internal[0], days, seed)
			planted := map[string][]string{}
			for ip, cats := range sc.Truth.Hosts {
				for _, c := range cats {
					planted[c] = append(planted[c], ip)
				}
			}
			for _, c := range sortedKeys(planted) {
				fmt.Fprintf(out, "Planted %s: %s.\n", c, strings.Join(slices.Sorted(slices.Values(planted[c])), ", "))
			}
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
			if htmlPath == "" {
				htmlPath = filepath.Join(os.TempDir(), fmt.Sprintf("flowhunt-demo-%s-%d.html", scenario, seed))
			}
			if err := writeFile(htmlPath, func(f *os.File) error { return report.HTML(f, res.Report, res.View, 0) }); err != nil {
				return fmt.Errorf("--html: %w", err)
			}
			fmt.Fprintf(out, "\nHTML report with the plots of every finding: %s (opens offline in any browser)\n", htmlPath)
			if keep {
				fmt.Fprintf(out, "\nFiles kept in %s. Reproduce:\n  %s\n  flowhunt hunt --explain IP ... (one host's whole story)\n", dir, reproduce)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the generated files and print how to reproduce the hunt")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().IntVar(&hosts, "hosts", 80, "internal hosts (miner scenario: 40)")
	cmd.Flags().IntVar(&days, "days", 2, "days of traffic")
	cmd.Flags().StringVar(&scenario, "scenario", "office", "scenario: office, miner")
	cmd.Flags().StringVar(&htmlPath, "html", "", "write the HTML report to `FILE` (default: flowhunt-demo-SCENARIO-SEED.html in the temp directory)")
	cmd.Flags().StringVar(&format, "format", "", "log format written: "+strings.Join(sim.Formats, ", ")+" (default zeek for office, filterlog for miner)")
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
