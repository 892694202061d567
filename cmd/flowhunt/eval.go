package main

import (
	"encoding/json"

	"github.com/flowhunt/flowhunt/internal/eval"
	"github.com/spf13/cobra"
)

func newEvalCmd() *cobra.Command {
	var truthPath, output string
	cmd := &cobra.Command{
		Use:   "eval --truth DIR/truth.json FINDINGS.json",
		Short: "Score a hunt's findings against a simulated scenario's truth",
		Long: `eval compares the output of 'flowhunt hunt -o json' with the truth.json that 'flowhunt simulate'
wrote beside the scenario, and prints per category the hosts found (TP), wrongly flagged (FP)
and missed (FN), precision, recall and F1, and the benign look-alikes that were flagged in the
category they imitate. Candidates written with --all ("flagged": false) are not claims and do not
count. Informational categories (talker) are scored only when the truth plants hosts for them.`,
		Example: "  flowhunt simulate --scenario miner --out /tmp/s/\n" +
			"  flowhunt hunt --internal 172.16.0.0/12 --dns-map /tmp/s/rdns.txt -o json --out /tmp/f.json /tmp/s/flows.log\n" +
			"  flowhunt eval --truth /tmp/s/truth.json /tmp/f.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("eval needs exactly one FINDINGS.json (the output of flowhunt hunt -o json)")
			}
			if truthPath == "" {
				return usageErr("eval needs --truth FILE (the truth.json flowhunt simulate wrote)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			truth, err := eval.ReadTruth(truthPath)
			if err != nil {
				return err
			}
			findings, err := eval.ReadFindings(args[0])
			if err != nil {
				return err
			}
			res := eval.Score(truth, findings)
			switch output {
			case "table":
				return eval.Table(cmd.OutOrStdout(), res)
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return usageErr("-o %q: want table or json", output)
		},
	}
	cmd.Flags().StringVar(&truthPath, "truth", "", "the scenario's truth.json")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json")
	return cmd
}
