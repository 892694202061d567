package main

import (
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// addProfileFlags adds hidden --cpuprofile and --memprofile flags, for profiling real runs with
// `go tool pprof` before optimising anything.
func addProfileFlags(cmd *cobra.Command) {
	var cpu, mem string
	cmd.Flags().StringVar(&cpu, "cpuprofile", "", "write a CPU profile to `FILE`")
	cmd.Flags().StringVar(&mem, "memprofile", "", "write a heap profile to `FILE` at exit")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	_ = cmd.Flags().MarkHidden("memprofile")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if cpu != "" {
			f, err := os.Create(cpu)
			if err != nil {
				return usageErr("--cpuprofile: %v", err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		err := run(c, args)
		if mem != "" {
			f, ferr := os.Create(mem)
			if ferr != nil {
				return usageErr("--memprofile: %v", ferr)
			}
			defer f.Close()
			runtime.GC()
			if werr := pprof.WriteHeapProfile(f); werr != nil && err == nil {
				err = werr
			}
		}
		return err
	}
}
