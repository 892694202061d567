// Package chstore keeps flows in ClickHouse and computes flowhunt's aggregates there, for logs
// that outgrow one machine. Load streams records from any ingest reader into a MergeTree table
// (or a Distributed table over a cluster's shards) in large native batches, once per file
// content; Aggregate runs one GROUP BY per aggregate in the cluster and streams the results into
// an engine.Builder, so the client holds aggregates (pairs, host-hours, names), never rows, and
// the detectors read the same View as with the embedded engine.
package chstore

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EnvUser and EnvPassword name the environment variables that supply credentials when neither
// the flags nor the URL do.
const (
	EnvUser     = "FLOWHUNT_CH_USER"
	EnvPassword = "FLOWHUNT_CH_PASSWORD"
)

// Config says which server and database to use and how to reach them.
type Config struct {
	Addr     string // host:port of the native protocol
	Database string
	User     string
	Password string // never printed: String and every error leave it out
	// Secure connects with TLS (clickhouses://, or ?secure=true); SkipVerify accepts any server
	// certificate (?skip_verify=true), for self-signed test servers; CAFile (?ca=FILE, PEM)
	// verifies the server against a private CA instead of the system's roots.
	Secure, SkipVerify bool
	CAFile             string
	// Cluster, when set, makes Load create a Distributed table over local tables on each of the
	// cluster's shards (remote_servers in the server config) instead of one MergeTree table.
	Cluster string
	// Compress is the native protocol's block compression: "lz4", "zstd" or "none"; "" is none
	// for a loopback server (compressing only costs CPU there: loading measured 30-60 % faster
	// without) and lz4 otherwise.
	Compress    string
	DialTimeout time.Duration // 0 is 5 s
}

var (
	dbName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)
)

// ParseURL reads clickhouse://[user[:password]@]host[:port][/database][?secure=true&
// skip_verify=true&ca=FILE&compress=lz4|zstd|none&
// dial_timeout=5s]; clickhouses:// (or a ca) means secure. The port
// defaults to 9000 (9440 with TLS), the database to "flowhunt". Credentials missing from the URL
// are taken from FLOWHUNT_CH_USER and FLOWHUNT_CH_PASSWORD; the user defaults to "default".
// Errors never quote the password.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: say only what is wrong.
		return Config{}, fmt.Errorf("--engine: not a URL (want clickhouse://host:9000/db)")
	}
	c := Config{Database: "flowhunt"}
	switch u.Scheme {
	case "clickhouse":
	case "clickhouses":
		c.Secure = true
	default:
		return Config{}, fmt.Errorf("--engine: scheme %q: want clickhouse:// or clickhouses://", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return Config{}, fmt.Errorf("--engine: no host (want clickhouse://host:9000/db)")
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostName.MatchString(host) {
		return Config{}, fmt.Errorf("--engine: bad host %q", host)
	}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "secure", "skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("--engine: %s=%q: want true or false", k, v)
			}
			if k == "secure" {
				c.Secure = c.Secure || b
			} else {
				c.SkipVerify = b
			}
		case "ca":
			if v == "" {
				return Config{}, fmt.Errorf("--engine: ca= needs a PEM file")
			}
			c.CAFile, c.Secure = v, true
		case "compress":
			if v != "lz4" && v != "zstd" && v != "none" {
				return Config{}, fmt.Errorf("--engine: compress=%q: want lz4, zstd or none", v)
			}
			c.Compress = v
		case "dial_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Config{}, fmt.Errorf("--engine: dial_timeout=%q: want a duration such as 5s", v)
			}
			c.DialTimeout = d
		default:
			return Config{}, fmt.Errorf("--engine: unknown parameter %q (known: secure, skip_verify, ca, compress, dial_timeout)", k)
		}
	}
	if port == "" {
		port = "9000"
		if c.Secure {
			port = "9440"
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return Config{}, fmt.Errorf("--engine: bad port %q", port)
	}
	c.Addr = net.JoinHostPort(host, port)
	if db := strings.Trim(u.Path, "/"); db != "" {
		c.Database = db
	}
	if !dbName.MatchString(c.Database) {
		return Config{}, fmt.Errorf("--engine: database %q: want letters, digits and _", c.Database)
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if c.User == "" {
		c.User = os.Getenv(EnvUser)
	}
	if c.Password == "" {
		c.Password = os.Getenv(EnvPassword)
	}
	if c.User == "" {
		c.User = "default"
	}
	return c, nil
}

// String is the server and database, for messages: no credentials.
func (c Config) String() string {
	scheme := "clickhouse"
	if c.Secure {
		scheme = "clickhouses"
	}
	return scheme + "://" + c.Addr + "/" + c.Database
}
