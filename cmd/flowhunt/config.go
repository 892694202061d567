package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// applyConfig reads a YAML config whose keys are flag names (internal: [..], tz: .., dns-map: ..)
// and sets every flag the command line did not set; the command line always wins. Detector
// thresholds live under "detectors:" with the keys of detect.Config. Unknown keys are errors, so
// a typo does not silently change nothing.
func applyConfig(cmd *cobra.Command, path string) (detect.Config, error) {
	cfg := detect.Defaults()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, usageErr("--config: %v", err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cfg, usageErr("%s: %v", path, err)
	}
	for key, node := range doc {
		if key == "detectors" {
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			if err := enc.Encode(&node); err != nil {
				return cfg, usageErr("%s: detectors: %v", path, err)
			}
			dec := yaml.NewDecoder(&buf)
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err != nil {
				return cfg, usageErr("%s: line %d: detectors: %v", path, node.Line, err)
			}
			continue
		}
		fl := cmd.Flags().Lookup(key)
		if fl == nil || key == "config" {
			return cfg, usageErr("%s: line %d: unknown key %q (keys are hunt's flag names)", path, node.Line, key)
		}
		if fl.Changed {
			continue
		}
		if err := setFlag(fl, &node); err != nil {
			return cfg, usageErr("%s: line %d: %s: %v", path, node.Line, key, err)
		}
	}
	return cfg, nil
}

func setFlag(fl *pflag.Flag, node *yaml.Node) error {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		var list []string
		if node.Kind == yaml.SequenceNode {
			if err := node.Decode(&list); err != nil {
				return err
			}
		} else {
			var one string
			if err := node.Decode(&one); err != nil {
				return err
			}
			list = []string{one}
		}
		return sv.Replace(list)
	}
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a single value")
	}
	v := node.Value
	if fl.Value.Type() == "bool" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		v = strconv.FormatBool(b)
	}
	return fl.Value.Set(v)
}
