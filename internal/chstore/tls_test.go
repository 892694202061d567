package chstore

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsCA is the self-signed certificate scripts/clickhouse.sh gives the local server's TLS port.
const tlsCA = "/etc/clickhouse-server/flowhunt-tls/server.crt"

// tlsServer returns the local server's TLS address and its certificate, or skips.
func tlsServer(t *testing.T) (addr, ca string) {
	t.Helper()
	addr = os.Getenv("FLOWHUNT_CLICKHOUSE_TLS")
	if addr == "" {
		addr = "127.0.0.1:9440"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Skipf("no ClickHouse TLS port answers on %s (scripts/clickhouse.sh opens 9440): %v", addr, err)
	}
	c.Close()
	if _, err := os.Stat(tlsCA); err != nil {
		t.Skipf("the TLS port's certificate is not at %s: %v", tlsCA, err)
	}
	return addr, tlsCA
}

// TestTLS loads and aggregates over the native protocol's TLS port: verified against the
// server's certificate given as a private CA, or with verification skipped; and refused, with
// the reason, when the certificate cannot be verified or the CA file is wrong.
func TestTLS(t *testing.T) {
	addr, ca := tlsServer(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flows.csv")
	csv := "ts,src,dst,dport,proto,bytes\n1700000000,10.0.0.1,8.8.8.8,53,udp,70\n1700000060,10.0.0.1,8.8.8.8,53,udp,75\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ca=" + ca, "skip_verify=true"} {
		t.Run(q, func(t *testing.T) {
			cfg, err := ParseURL("clickhouses://" + addr + "/fhtest_tls?" + q)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, cfg)
			if err != nil {
				t.Fatalf("open over TLS: %v", err)
			}
			defer func() {
				if err := s.Drop(ctx); err != nil {
					t.Errorf("drop: %v", err)
				}
				s.Close()
			}()
			if _, err := s.Load(ctx, []string{path}, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			m, _, err := s.Aggregate(ctx, Range{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Flows() != 2 {
				t.Errorf("flows over TLS = %d, want 2", m.Flows())
			}
		})
	}
	refused := func(name, raw, want string) {
		t.Helper()
		cfg, err := ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: connected, want a refusal", name)
			return
		}
		var se *ServerError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a ServerError saying %q", name, err, want)
		}
	}
	// A self-signed certificate is not in the system's roots.
	refused("unverified", "clickhouses://"+addr+"/fhtest_tls", "certificate")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	refused("ca not PEM", "clickhouses://"+addr+"/fhtest_tls?ca="+notPEM, "holds no PEM certificate")
	refused("ca missing", "clickhouses://"+addr+"/fhtest_tls?ca=/nonexistent.pem", "no such file")
}
