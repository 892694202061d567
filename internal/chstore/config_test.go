package chstore

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Setenv(EnvUser, "")
	t.Setenv(EnvPassword, "")
	f := func(raw string, want Config) {
		t.Helper()
		got, err := ParseURL(raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", raw, err)
			return
		}
		if got != want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", raw, got, want)
		}
	}
	// defaults: port 9000, database flowhunt, user default, LZ4
	f("clickhouse://ch1", Config{Addr: "ch1:9000", Database: "flowhunt", User: "default"})
	f("clickhouse://127.0.0.1:9001/netlogs", Config{Addr: "127.0.0.1:9001", Database: "netlogs", User: "default"})
	// credentials in the URL
	f("clickhouse://alice:pw@ch1/netlogs", Config{Addr: "ch1:9000", Database: "netlogs", User: "alice", Password: "pw"})
	// TLS by scheme (port 9440) or parameter, and its options
	f("clickhouses://ch1/x", Config{Addr: "ch1:9440", Database: "x", User: "default", Secure: true})
	f("clickhouse://ch1:9440/x?secure=true&skip_verify=1&compress=zstd&dial_timeout=2s",
		Config{Addr: "ch1:9440", Database: "x", User: "default", Secure: true, SkipVerify: true, Compress: "zstd", DialTimeout: 2 * time.Second})
	// a private CA: TLS, port 9440
	f("clickhouse://ch1/x?ca=/etc/ssl/ours.pem", Config{Addr: "ch1:9440", Database: "x", User: "default", Secure: true, CAFile: "/etc/ssl/ours.pem"})
	// IPv6 literal
	f("clickhouse://[::1]:9000/x", Config{Addr: "[::1]:9000", Database: "x", User: "default"})

	// environment fills what the URL lacks, and only that
	t.Setenv(EnvUser, "bob")
	t.Setenv(EnvPassword, "envpw")
	f("clickhouse://ch1/x", Config{Addr: "ch1:9000", Database: "x", User: "bob", Password: "envpw"})
	f("clickhouse://alice:pw@ch1/x", Config{Addr: "ch1:9000", Database: "x", User: "alice", Password: "pw"})
}

func TestParseURLErrors(t *testing.T) {
	f := func(raw, wantErr string) {
		t.Helper()
		_, err := ParseURL(raw)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseURL(%q) err %v, want %q", raw, err, wantErr)
			return
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error quotes the password: %v", raw, err)
		}
	}
	f("http://ch1:8123/x", "want clickhouse://")
	f("clickhouse:///x", "no host")
	f("clickhouse://ch1:99999/x", "bad port")
	f("clickhouse://]", "bad host")
	f("clickhouse://a b/x", "not a URL")
	f("clickhouse://u:hunter2@ch1/bad-db", "database")
	f("clickhouse://u:hunter2@ch1/x?compress=gzip", "compress")
	f("clickhouse://u:hunter2@ch1/x?secure=maybe", "secure")
	f("clickhouse://u:hunter2@ch1/x?nope=1", "unknown parameter")
	f("clickhouse://u:hunter2@ch1:port/x", "not a URL")
	f("clickhouse://u:hunter2@ch1/x?dial_timeout=soon", "dial_timeout")
	f("clickhouse://u:hunter2@ch1/x?ca=", "ca= needs a PEM file")
}

func TestConfigStringHidesCredentials(t *testing.T) {
	c, err := ParseURL("clickhouses://alice:hunter2@ch1/netlogs")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); s != "clickhouses://ch1:9440/netlogs" {
		t.Errorf("String() = %q", s)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:9000": true, "127.1.2.3:9000": true, "[::1]:9000": true, "localhost:9000": true,
		"[::ffff:127.0.0.1]:9000": true, "10.0.0.1:9000": false, "ch1:9000": false, "garbage": false} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestDayOf(t *testing.T) {
	f := func(ns int64, want uint16) {
		t.Helper()
		if got := dayOf(ns); got != want {
			t.Errorf("dayOf(%d) = %d, want %d", ns, got, want)
		}
	}
	f(0, 0)
	f(86_400e9-1, 0)
	f(86_400e9, 1)
	f(-1, 0)                          // before 1970: clamped
	f(1_700_000_000e9, 19675)         // 2023-11-14
	f(1<<63-1, 65535)                 // far future: clamped
	f(65536*86_400e9, 65535)          // just past Date's range
	f(65535*86_400e9+86_399e9, 65535) // Date's last day
}

// FuzzParseURL: any --engine value gives a valid Config or an error, never a panic, and no
// error quotes the URL's password.
func FuzzParseURL(f *testing.F) {
	f.Add("clickhouse://alice:pw@ch1:9000/netlogs?secure=true")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ParseURL(raw)
		if err != nil {
			u, perr := url.Parse(raw)
			if perr != nil || u.User == nil {
				return
			}
			pw, _ := u.User.Password()
			q, _ := url.QueryUnescape(u.RawQuery)
			rest := u.Scheme + u.User.Username() + u.Host + u.Path + q // where the password may also be spelled
			if len(pw) >= 4 && strings.Contains(err.Error(), pw) && !strings.Contains(rest, pw) {
				t.Fatalf("error %q quotes the password", err)
			}
			return
		}
		if !dbName.MatchString(c.Database) || c.Addr == "" || c.User == "" {
			t.Fatalf("accepted %q as %+v", raw, c)
		}
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			t.Fatalf("accepted %q with address %q: %v", raw, c.Addr, err)
		}
	})
}

func TestDecodeSeconds(t *testing.T) {
	f := func(first uint32, deltas string, want ...uint32) {
		t.Helper()
		got, err := decodeSeconds(first, deltas)
		if want == nil {
			if err == nil {
				t.Errorf("decodeSeconds(%d, %q) = %v, want an error", first, deltas, got)
			}
			return
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("decodeSeconds(%d, %q) = %v, %v; want %v", first, deltas, got, err, want)
		}
	}
	f(1700000000, "0", 1700000000)
	f(5, "0,1,10,100", 5, 6, 16, 116)
	f(0, "0,4294967295", 0, 4294967295)
	f(1, "0,4294967295")  // past 2^32-1
	f(5, "")              // no seconds: a pair has at least one
	f(5, "1")             // arrayDifference starts at 0
	f(5, "0,0")           // seconds are distinct
	f(5, "0,-1")          // not a count
	f(5, "0,1,")          // trailing comma
	f(5, "0,99999999999") // too many digits
}
