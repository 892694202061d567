package chstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Table names in the database. In a cluster, flows is a Distributed table and each shard holds
// its rows in a local table named flows_local_<database> (in the shard's own database), so
// several flowhunt databases can share a cluster's shard databases.
const (
	flowsTable    = "flows"
	manifestTable = "manifest"
	attemptsTable = "load_attempts"
)

// column is one column of the flows table: the INSERT names them all, in this order.
type column struct{ name, typ string }

// flowColumns is the flows table. One row per record: flows (kind 0), application events
// (kind 1: DNS, TLS, HTTP metadata and IDS alerts whose connection is logged elsewhere) and the
// answer halves of one-way exports (kind 2, flow.KindReply).
// Addresses are IPv4-mapped FixedString(16), times Unix ns (Int64) with a Date for partitioning;
// payload bytes are not stored, only whether there were any and the tags found in them
// (engine.RecordTags). load_id says which load attempt wrote the row: queries read only rows
// whose attempt is committed in the manifest. The first 16 columns (baseColumns) are what a
// plain flow fills; an INSERT of plain flows names only those and the server fills the others
// with their defaults (”, 0, []).
var flowColumns = append(slices.Clone(baseColumns), []column{
	{"dns_query", "String"},
	{"dns_type", "UInt16"},
	{"dns_answers", "Array(FixedString(16))"},
	{"tls_sni", "String"},
	{"http_host", "String"},
	{"user_agent", "String"},
	{"alert", "String"},
	{"alert_severity", "UInt8"},
	{"payload", "UInt8"},
	{"tags", "Array(String)"},
}...)

var baseColumns = []column{
	{"day", "Date"},
	{"ts", "Int64"},
	{"dur", "Int64"},
	{"src", "FixedString(16)"},
	{"dst", "FixedString(16)"},
	{"sport", "UInt16"},
	{"dport", "UInt16"},
	{"proto", "UInt8"},
	{"action", "UInt8"},
	{"dir", "UInt8"},
	{"kind", "UInt8"},
	{"bytes_out", "UInt64"},
	{"bytes_in", "UInt64"},
	{"pkts_out", "UInt64"},
	{"pkts_in", "UInt64"},
	{"load_id", "UInt64"},
}

func columnDDL() string {
	parts := make([]string, len(flowColumns))
	for i, c := range flowColumns {
		parts[i] = c.name + " " + c.typ
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// flowsDDL creates a flows table: a MergeTree partitioned by day and ordered for pair lookups,
// so a pair's rows are contiguous.
func flowsDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " " + columnDDL() +
		" ENGINE = MergeTree PARTITION BY day ORDER BY (src, dst, dport, proto, ts)"
}

// manifestDDL creates the manifest: one row per committed file (several, identical, if a commit
// was retried), with its reading statistics for hunt's summary.
func manifestDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + ` (hash String, load_id UInt64, path String,
		format String, size UInt64, unit String, lines Int64, records Int64, rows Int64, skipped Int64,
		skips String, loaded DateTime) ENGINE = MergeTree ORDER BY hash`
}

// attemptsDDL creates load_attempts: one row per attempt that wrote rows.
func attemptsDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + ` (hash String, load_id UInt64, path String,
		started DateTime) ENGINE = MergeTree ORDER BY hash`
}

// ServerError is a server that cannot be reached or refuses the connection. The CLI exits 2 on
// it, as on any unusable input.
type ServerError struct {
	Server string // Config.String(): no credentials
	Err    error
}

func (e *ServerError) Error() string { return fmt.Sprintf("clickhouse %s: %v", e.Server, e.Err) }
func (e *ServerError) Unwrap() error { return e.Err }

// Store is an open connection to one database, with its layout: one MergeTree table, or a
// Distributed table over local tables on a cluster's shards.
type Store struct {
	cfg  Config
	conn driver.Conn
	// cluster is the Distributed table's cluster ("" for one MergeTree table); shards are the
	// local tables behind it, one per replica.
	cluster string
	shards  []*shardTable
	conns   map[string]driver.Conn // per shard address, besides conn
}

type shardTable struct {
	shard int
	addr  string
	db    string
	table string
	conn  driver.Conn
}

func (s *shardTable) name() string { return s.db + "." + s.table }

// Open connects to the server and checks that it answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	conn, err := dial(ctx, cfg, cfg.Addr)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, conn: conn, conns: map[string]driver.Conn{}}, nil
}

func dial(ctx context.Context, cfg Config, addr string) (driver.Conn, error) {
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	opts := &clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Username: cfg.User, Password: cfg.Password},
		DialTimeout: timeout,
		// Aggregates of a big network take a while to compute; the server's own limits apply.
		ReadTimeout:  time.Hour,
		MaxOpenConns: 8,
		MaxIdleConns: 4,
	}
	switch cfg.Compress {
	case "":
		if !isLoopback(addr) {
			opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
		}
	case "lz4":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	}
	server := cfg.String()
	if addr != cfg.Addr {
		server = addr
	}
	if cfg.Secure {
		host, _, _ := net.SplitHostPort(addr)
		opts.TLS = &tls.Config{ServerName: host, InsecureSkipVerify: cfg.SkipVerify}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, &ServerError{Server: server, Err: fmt.Errorf("ca: %w", err)}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &ServerError{Server: server, Err: fmt.Errorf("ca: %s holds no PEM certificate", cfg.CAFile)}
			}
			opts.TLS.RootCAs = pool
		}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, &ServerError{Server: server, Err: redact(err, cfg.Password)}
	}
	pctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ServerError{Server: server, Err: fmt.Errorf("server not reachable or refused the connection: %w", redact(err, cfg.Password))}
	}
	return conn, nil
}

// isLoopback reports whether host:port names this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// redact replaces the password in err's message, should a driver ever quote it.
func redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// Cluster is the cluster the flows table is distributed over, "" for a single table.
func (s *Store) Cluster() string { return s.cluster }

// Close closes every connection.
func (s *Store) Close() error {
	for _, c := range s.conns {
		c.Close()
	}
	return s.conn.Close()
}

func (s *Store) table(name string) string { return s.cfg.Database + "." + name }

// exec runs a statement, naming the server in its error.
func (s *Store) exec(ctx context.Context, conn driver.Conn, query string) error {
	if err := conn.Exec(ctx, query); err != nil {
		return s.wrap(err, query)
	}
	return nil
}

func (s *Store) wrap(err error, query string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	q := query
	if len(q) > 80 {
		q = q[:80] + "…"
	}
	return fmt.Errorf("clickhouse %s: %s: %w", s.cfg, q, redact(err, s.cfg.Password))
}

// Ensure creates what Load writes to when missing: the database, the manifest tables, and the
// flows table — a MergeTree, or with Config.Cluster a Distributed table over a MergeTree on
// every replica of every shard (created replica by replica: ON CLUSTER needs ZooKeeper).
// An existing flows table is used as it is, whatever Config.Cluster says, unless the two
// disagree on being distributed.
func (s *Store) Ensure(ctx context.Context) error {
	db := s.cfg.Database
	if err := s.exec(ctx, s.conn, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return err
	}
	exists, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	if exists && s.cfg.Cluster != "" && s.cluster != s.cfg.Cluster {
		if s.cluster == "" {
			return fmt.Errorf("clickhouse %s: flows is a single MergeTree table, not distributed over cluster %s: load the cluster into another database", s.cfg, s.cfg.Cluster)
		}
		return fmt.Errorf("clickhouse %s: flows is distributed over cluster %s, not %s", s.cfg, s.cluster, s.cfg.Cluster)
	}
	if !exists {
		if s.cfg.Cluster == "" {
			if err := s.exec(ctx, s.conn, flowsDDL(s.table(flowsTable))); err != nil {
				return err
			}
		} else if err := s.createDistributed(ctx); err != nil {
			return err
		}
	}
	for _, q := range []string{manifestDDL(s.table(manifestTable)), attemptsDDL(s.table(attemptsTable))} {
		if err := s.exec(ctx, s.conn, q); err != nil {
			return err
		}
	}
	_, err = s.resolve(ctx)
	return err
}

// resolve finds the flows table and, when it is Distributed, its cluster and local tables.
func (s *Store) resolve(ctx context.Context) (bool, error) {
	var engine, full string
	q := fmt.Sprintf("SELECT engine, engine_full FROM system.tables WHERE database = '%s' AND name = '%s'", s.cfg.Database, flowsTable)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return false, s.wrap(err, q)
	}
	found := rows.Next()
	if found {
		err = rows.Scan(&engine, &full)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return false, s.wrap(err, q)
	}
	if !found {
		s.cluster, s.shards = "", nil
		return false, nil
	}
	if engine != "Distributed" {
		s.cluster, s.shards = "", nil
		return true, nil
	}
	m := distributedArgs.FindStringSubmatch(full)
	if m == nil {
		return true, fmt.Errorf("clickhouse %s: flows: cannot read its Distributed engine %q", s.cfg, full)
	}
	s.cluster = m[1]
	shards, _, err := s.clusterShards(ctx, s.cluster)
	if err != nil {
		return true, err
	}
	s.shards = shards
	return true, nil
}

var distributedArgs = regexp.MustCompile(`^Distributed\(\s*'?([A-Za-z0-9_]+)'?\s*,`)

// clusterShards lists the replicas of every shard of cluster with the local table each holds,
// and the database the Distributed table must name ("" when every replica has its own
// <default_database>, which is then where its local table lives).
func (s *Store) clusterShards(ctx context.Context, cluster string) ([]*shardTable, string, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT shard_num, host_address, port, default_database
		FROM system.clusters WHERE cluster = '%s' ORDER BY shard_num, replica_num`, cluster))
	if err != nil {
		return nil, "", s.wrap(err, "system.clusters")
	}
	defer rows.Close()
	var out []*shardTable
	withDefault := 0
	for rows.Next() {
		var (
			shard     uint32
			host, def string
			port      uint16
		)
		if err := rows.Scan(&shard, &host, &port, &def); err != nil {
			return nil, "", s.wrap(err, "system.clusters")
		}
		if def != "" {
			withDefault++
		}
		out = append(out, &shardTable{shard: int(shard), addr: net.JoinHostPort(host, fmt.Sprint(port)), db: def,
			table: flowsTable + "_local_" + s.cfg.Database})
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.wrap(err, "system.clusters")
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("clickhouse %s: no cluster %q in the server's remote_servers (see system.clusters)", s.cfg, cluster)
	}
	remoteDB := ""
	switch withDefault {
	case len(out):
	case 0:
		remoteDB = s.cfg.Database
		for _, st := range out {
			st.db = remoteDB
		}
	default:
		return nil, "", fmt.Errorf("clickhouse %s: cluster %s: some replicas have a <default_database> and some not; give every replica one, or none", s.cfg, cluster)
	}
	// Two shards that are one server and one database would each read the other's rows: every
	// row would be counted twice (the predefined test_cluster_two_shards_localhost does this).
	seen := map[string]int{}
	for _, st := range out {
		k := st.addr + "/" + st.db
		if sh, ok := seen[k]; ok && sh != st.shard {
			return nil, "", fmt.Errorf("clickhouse %s: cluster %s: shards %d and %d are the same server and database (%s): every row would be read twice; give each shard's replica its own <default_database> (see scripts/clickhouse.sh)",
				s.cfg, cluster, sh, st.shard, k)
		}
		seen[k] = st.shard
	}
	return out, remoteDB, nil
}

// shardConn returns a connection to a shard replica's server.
func (s *Store) shardConn(ctx context.Context, st *shardTable) (driver.Conn, error) {
	if st.conn != nil {
		return st.conn, nil
	}
	c, ok := s.conns[st.addr]
	if !ok {
		var err error
		if c, err = dial(ctx, s.cfg, st.addr); err != nil {
			return nil, err
		}
		s.conns[st.addr] = c
	}
	st.conn = c
	return c, nil
}

func (s *Store) createDistributed(ctx context.Context) error {
	shards, remoteDB, err := s.clusterShards(ctx, s.cfg.Cluster)
	if err != nil {
		return err
	}
	for _, st := range shards {
		c, err := s.shardConn(ctx, st)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, c, "CREATE DATABASE IF NOT EXISTS "+st.db); err != nil {
			return err
		}
		if err := s.exec(ctx, c, flowsDDL(st.name())); err != nil {
			return err
		}
	}
	// Rows are spread by source address, so a host's pairs live on one shard.
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s %s ENGINE = Distributed(%s, '%s', %s, cityHash64(src))",
		s.table(flowsTable), columnDDL(), s.cfg.Cluster, remoteDB, shards[0].table)
	return s.exec(ctx, s.conn, q)
}

// Drop removes the database's tables, the local tables on every shard, and the database.
func (s *Store) Drop(ctx context.Context) error {
	if _, err := s.resolve(ctx); err != nil {
		return err
	}
	for _, st := range s.shards {
		c, err := s.shardConn(ctx, st)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, c, "DROP TABLE IF EXISTS "+st.name()); err != nil {
			return err
		}
	}
	return s.exec(ctx, s.conn, "DROP DATABASE IF EXISTS "+s.cfg.Database)
}
