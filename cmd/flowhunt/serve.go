package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/serve"
	"github.com/spf13/cobra"
)

// serveReady, when set (by tests), is told the address serve listens on.
var serveReady func(net.Addr)

func newServeCmd() *cobra.Command {
	var (
		f      huntFlags
		listen string
	)
	cmd := &cobra.Command{
		Use:   "serve [flags] PATH...",
		Short: "Analyse logs and browse the findings in a local web UI",
		Long: `serve runs the same analysis as hunt, then serves its report as a local web page: the ranked
hosts, every finding with its plots, and for each finding the raw flows between the host and
each peer, read again from the inputs on demand.

The server is read-only and listens on 127.0.0.1 unless --listen says otherwise; on a loopback
address it answers only requests addressed to localhost or a loopback IP. Stop it with Ctrl-C.`,
		Example: `  # Browse the findings of a pfSense log at http://127.0.0.1:8080/
  flowhunt serve --dns-map rdns.txt router.log

  # Another port, Zeek logs, a site's settings
  flowhunt serve --listen 127.0.0.1:9090 --config site.yaml /nsm/zeek/logs/2026-11-20/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("serve needs at least one PATH (a file or a directory)")
			}
			for _, a := range args {
				if a == "-" {
					return usageErr("serve reads its inputs again for drill-downs, so it cannot read stdin (-)")
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := applyConfig(cmd, f.config)
			if err != nil {
				return err
			}
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return usageErr("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8080", listen)
			}
			opts, err := f.huntOptions(args, cfg)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			var stopProgress func()
			opts.Ingest.Progress, stopProgress = newProgress(stderr, isTerminalWriter(stderr), f.quiet)
			res, err := hunt.Run(cmd.Context(), opts)
			stopProgress()
			if err != nil {
				return err
			}
			if !f.quiet {
				warn(stderr, res.Report)
			}
			srv, err := serve.New(res, args, opts.Ingest, listen)
			if err != nil {
				return err
			}
			if a, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !a.IsLoopback()) {
				fmt.Fprintf(stderr, "flowhunt serve: warning: listening on %s, beyond this machine; anyone who can reach it can read the findings\n", host)
			}
			return srv.ListenAndServe(cmd.Context(), listen, func(a net.Addr) {
				fmt.Fprintf(stderr, "flowhunt serve: %d hosts ranked; open http://%s/ (Ctrl-C to stop)\n", len(res.Report.Hosts), a)
				if serveReady != nil {
					serveReady(a)
				}
			})
		},
	}
	f.addAnalysisFlags(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "`HOST:PORT` to listen on (loopback by default)")
	return cmd
}
