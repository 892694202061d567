package chstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

// Range limits a hunt to flows and events that started in [From, To); a zero bound is open.
type Range struct {
	From, To time.Time
}

// Aggregation happens in the cluster: each aggregate below is one GROUP BY over the committed
// rows, run by the server (or by every shard, merged by the initiator, for a Distributed table),
// and the client streams the grouped rows into an engine.Builder. The client holds the
// aggregates — one Pair per (src, dst, dport, proto), hourly counts, names, DNS query counts —
// never the rows, so its memory follows the number of pairs, not of flows.
//
// The SQL keeps to what ClickHouse 18.16 and current versions both accept (no window
// functions, no IPv6 type, no DateTime64): arithmetic on Int64 nanoseconds with Int64 divisors
// (18.16 divides a negative Int64 by a UInt64 literal as unsigned), floors written as
// intDiv(x, d) - (x % d < 0) since intDiv truncates toward zero.

// second is a flow's start second as the embedded engine keeps it: floor(ns / 1e9), clamped to
// [0, 2^32-1]. For negative times truncation and flooring both clamp to 0.
const secondSQL = "toUInt32(least(greatest(intDiv(ts, toInt64(1000000000)), toInt64(0)), toInt64(4294967295)))"

// hourSQL is floor(ns / 3600e9), the embedded engine's hour of a flow.
const hourSQL = "intDiv(ts, toInt64(3600000000000)) - (ts % toInt64(3600000000000) < 0)"

// where selects rows of committed load attempts — per file hash, the smallest load_id in the
// manifest; GLOBAL runs the subquery once on the server asked and ships the set to shards — that
// started in r.
func (s *Store) where(r Range) string {
	w := fmt.Sprintf("load_id GLOBAL IN (SELECT min(load_id) FROM %s GROUP BY hash)", s.table(manifestTable))
	// The day bounds add nothing to the ts bounds but let the server skip other days'
	// partitions without reading them.
	if !r.From.IsZero() {
		from := r.From.UnixNano()
		w += fmt.Sprintf(" AND day >= toDate('%s') AND ts >= toInt64(%d)", dateString(dayOf(from)), from)
	}
	if !r.To.IsZero() {
		to := r.To.UnixNano()
		w += fmt.Sprintf(" AND day <= toDate('%s') AND ts < toInt64(%d)", dateString(dayOf(to-1)), to)
	}
	return w
}

// Aggregate computes, in the server, the aggregates of the committed rows in r and builds the
// embedded engine's View from them; it also returns the reading statistics of the loaded files,
// from the manifest. The View still needs Apply (and optionally Exclude, AddNames), as after
// the embedded engine's Merge.
func (s *Store) Aggregate(ctx context.Context, r Range) (*engine.Memory, *ingest.Summary, error) {
	exists, err := s.resolve(ctx)
	if err != nil {
		return nil, nil, err
	}
	if exists {
		exists, err = s.tableExists(ctx, manifestTable)
		if err != nil {
			return nil, nil, err
		}
	}
	if !exists {
		return nil, nil, &ServerError{Server: s.cfg.String(), Err: errors.New("no flows loaded in this database: run flowhunt load first")}
	}
	if s.cfg.Cluster != "" && s.cluster != s.cfg.Cluster {
		loaded := "as one MergeTree table"
		if s.cluster != "" {
			loaded = "over cluster " + s.cluster
		}
		return nil, nil, &ServerError{Server: s.cfg.String(), Err: fmt.Errorf("flows is not distributed over cluster %s (it was loaded %s)", s.cfg.Cluster, loaded)}
	}
	b := engine.NewBuilder()
	w := s.where(r)
	flows := s.table(flowsTable)
	steps := []func(context.Context, *engine.Builder, string, string) error{
		s.totals, s.pairs, s.hourly, s.names, s.dns, s.eventTags,
	}
	for _, step := range steps {
		if err := step(ctx, b, flows, w); err != nil {
			return nil, nil, err
		}
	}
	m, err := b.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("clickhouse %s: %w", s.cfg, err)
	}
	sum, err := s.manifestSummary(ctx)
	if err != nil {
		return nil, nil, err
	}
	return m, sum, nil
}

func (s *Store) tableExists(ctx context.Context, name string) (bool, error) {
	q := fmt.Sprintf("SELECT count() FROM system.tables WHERE database = '%s' AND name = '%s'", s.cfg.Database, name)
	var n uint64
	if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return false, s.wrap(err, q)
	}
	return n > 0, nil
}

// stream runs q and calls row for each result row, after scanning it into dest.
func (s *Store) stream(ctx context.Context, q string, dest []any, row func() error) error {
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return s.wrap(err, q)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.wrap(err, q)
		}
		if err := row(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap(err, q)
	}
	return nil
}

func addr16(b []byte) netip.Addr {
	if len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b)).Unmap()
}

// totals: flow count, span, and the FieldSet flags exactly as the embedded engine sets them —
// the count from flows (kind 0), the span and counter flags from flows and reply halves (kind 2),
// the application flags from any stored row.
func totalsSQL(flows, w string) string {
	return `SELECT countIf(kind = 0), minIf(ts, kind != 1 AND ts != 0), maxIf(ts, kind != 1 AND ts != 0),
		countIf(kind != 1 AND ts != 0), countIf(kind != 1 AND dur > 0), countIf(kind != 1 AND bytes_in != 0),
		countIf(kind != 1 AND (bytes_in != 0 OR pkts_in != 0)), countIf(kind != 1 AND (pkts_out > 1 OR bytes_out > 1514)),
		countIf(kind != 1 AND action != 0), countIf(dns_query != ''), countIf(tls_sni != ''), countIf(http_host != ''),
		countIf(payload != 0), countIf(alert != '')
		FROM ` + flows + ` WHERE ` + w
}

func (s *Store) totals(ctx context.Context, b *engine.Builder, flows, w string) error {
	q := totalsSQL(flows, w)
	var (
		first, last                                                      int64
		nFlows, times, dur, bytesIn, replies, volumes, action, dnsQ, sni uint64
		http, payload, alerts                                            uint64
	)
	dest := []any{&nFlows, &first, &last, &times, &dur, &bytesIn, &replies, &volumes, &action, &dnsQ, &sni, &http, &payload, &alerts}
	return s.stream(ctx, q, dest, func() error {
		b.SetTotals(int64(nFlows), first, last, engine.FieldSet{
			Duration: dur > 0, BytesIn: bytesIn > 0, Action: action > 0, DNS: dnsQ > 0, TLSSNI: sni > 0,
			HTTPHost: http > 0, Times: times > 0, Replies: replies > 0, Volumes: volumes > 0, Payload: payload > 0,
			Alerts: alerts > 0,
		})
		return nil
	})
}

// pairs: one row per (src, dst, dport, proto) over flows and reply halves, with the distinct
// start seconds sorted and cut to the embedded engine's MaxPairTimes smallest, and the distinct
// tags of the flows. Replies add counters, times and the longest duration; a pair without flows
// counts its replies and their durations instead (as engine.Pair's foldReplies does).
func pairsSQL(flows, w string) string {
	return fmt.Sprintf(`SELECT src, dst, dport, proto, if(n > 0, n, nr), blocked, bytes_o, bytes_i, pkts_o, pkts_i, first_ts, last_ts,
		if(n > 0, dur_total, dur_total_r), dur_max, secs[1],
		arrayStringConcat(arrayMap(x -> toString(x), arrayDifference(arraySlice(secs, 1, %[1]d))), ','),
		length(secs) > %[1]d, flow_tags
		FROM (SELECT src, dst, dport, proto, countIf(kind = 0) AS n, countIf(kind = 2) AS nr, countIf(kind = 0 AND action = 2) AS blocked,
			sum(bytes_out) AS bytes_o, sum(bytes_in) AS bytes_i, sum(pkts_out) AS pkts_o, sum(pkts_in) AS pkts_i,
			min(ts) AS first_ts, max(ts) AS last_ts, sumIf(dur, kind = 0 AND dur > 0) AS dur_total,
			sumIf(dur, kind = 2 AND dur > 0) AS dur_total_r, maxIf(dur, dur > 0) AS dur_max,
			arraySort(groupUniqArray(%[2]s)) AS secs, arraySort(groupUniqArrayArray(tags)) AS flow_tags
			FROM %[3]s WHERE kind != 1 AND %[4]s
			GROUP BY src, dst, dport, proto)`, engine.MaxPairTimes, secondSQL, flows, w)
}

func (s *Store) pairs(ctx context.Context, b *engine.Builder, flows, w string) error {
	q := pairsSQL(flows, w)
	var (
		src, dst                      []byte
		dport                         uint16
		proto, capped                 uint8
		n, blocked, bo, bi, po, pi    uint64
		first, last, durTotal, durMax int64
		firstSec                      uint32
		deltas                        string
		tags                          []string
	)
	dest := []any{&src, &dst, &dport, &proto, &n, &blocked, &bo, &bi, &po, &pi, &first, &last, &durTotal, &durMax,
		&firstSec, &deltas, &capped, &tags}
	return s.stream(ctx, q, dest, func() error {
		secs, err := decodeSeconds(firstSec, deltas)
		if err != nil {
			return fmt.Errorf("clickhouse %s: pair %v → %v: %w", s.cfg, addr16(src), addr16(dst), err)
		}
		b.AddPair(engine.Pair{
			Src: addr16(src), Dst: addr16(dst), DstPort: dport, Proto: proto,
			Count: int64(n), Blocked: int64(blocked), BytesOut: bo, BytesIn: bi, PktsOut: po, PktsIn: pi,
			First: first, Last: last, DurationTotal: durTotal, DurationMax: durMax,
			Times: secs, TimesCapped: capped != 0, Tags: tags,
		})
		tags = nil
		return nil
	})
}

// decodeSeconds rebuilds a pair's sorted start seconds from the first one and the text of
// arrayDifference over them ("0,d1,d2,…"). Sending the seconds as text of small deltas, not as
// Array(UInt32), spares the driver's reflective decoding of every element, which cost the
// client more than the rest of the pairs' columns together.
func decodeSeconds(first uint32, deltas string) ([]uint32, error) {
	out := make([]uint32, 0, strings.Count(deltas, ",")+1)
	cur, d, digits := uint64(first), uint64(0), 0
	bad := func() ([]uint32, error) { return nil, fmt.Errorf("bad start-second deltas %.40q", deltas) }
	for i := 0; i <= len(deltas); i++ {
		if i < len(deltas) && deltas[i] != ',' {
			c := deltas[i]
			if c < '0' || c > '9' || digits == 10 {
				return bad()
			}
			d, digits = d*10+uint64(c-'0'), digits+1
			continue
		}
		// The first delta is arrayDifference's 0; the others are positive (seconds are distinct).
		if digits == 0 || (len(out) == 0) != (d == 0) || cur+d > 1<<32-1 {
			return bad()
		}
		cur += d
		out = append(out, uint32(cur))
		d, digits = 0, 0
	}
	return out, nil
}

// hourly: flows each host originated per hour.
func hourlySQL(flows, w string) string {
	return fmt.Sprintf("SELECT src, %s AS hour, count() FROM %s WHERE kind = 0 AND %s GROUP BY src, hour", hourSQL, flows, w)
}

func (s *Store) hourly(ctx context.Context, b *engine.Builder, flows, w string) error {
	q := hourlySQL(flows, w)
	var (
		src  []byte
		hour int64
		n    uint64
	)
	return s.stream(ctx, q, []any{&src, &hour, &n}, func() error {
		b.AddHourly(addr16(src), hour, uint32(n))
		return nil
	})
}

func answerNamesSQL(flows, w string) string {
	return fmt.Sprintf("SELECT answer, dns_query FROM %s ARRAY JOIN dns_answers AS answer WHERE dns_query != '' AND %s GROUP BY answer, dns_query", flows, w)
}

func sniNamesSQL(flows, w string) string {
	return fmt.Sprintf("SELECT dst, tls_sni FROM %s WHERE tls_sni != '' AND %s GROUP BY dst, tls_sni", flows, w)
}

func httpNamesSQL(flows, w string) string {
	return fmt.Sprintf("SELECT dst, http_host FROM %s WHERE http_host != '' AND %s GROUP BY dst, http_host", flows, w)
}

// names: DNS answers → query name; TLS SNI → destination; HTTP Host → destination (the builder
// applies the embedded engine's rule for ports and address literals).
func (s *Store) names(ctx context.Context, b *engine.Builder, flows, w string) error {
	var (
		a    []byte
		name string
	)
	dest := []any{&a, &name}
	q := answerNamesSQL(flows, w)
	if err := s.stream(ctx, q, dest, func() error { b.AddName(addr16(a), name); return nil }); err != nil {
		return err
	}
	q = sniNamesSQL(flows, w)
	if err := s.stream(ctx, q, dest, func() error { b.AddName(addr16(a), name); return nil }); err != nil {
		return err
	}
	q = httpNamesSQL(flows, w)
	return s.stream(ctx, q, dest, func() error { b.AddHTTPHost(addr16(a), name); return nil })
}

// dns: query counts per (host, query, type), folded client-side by the embedded engine's code.
func dnsSQL(flows, w string) string {
	return fmt.Sprintf("SELECT src, dns_query, dns_type, count() FROM %s WHERE dns_query != '' AND %s GROUP BY src, dns_query, dns_type", flows, w)
}

func (s *Store) dns(ctx context.Context, b *engine.Builder, flows, w string) error {
	q := dnsSQL(flows, w)
	var (
		src   []byte
		query string
		qtype uint16
		n     uint64
	)
	return s.stream(ctx, q, []any{&src, &query, &qtype, &n}, func() error {
		b.AddDNS(addr16(src), query, qtype, int64(n))
		return nil
	})
}

// eventTags: tags of application events (IDS alerts) per pair they name; the builder attaches
// them to the pair or counts them as orphans.
func eventTagsSQL(flows, w string) string {
	return fmt.Sprintf(`SELECT src, dst, dport, proto, arraySort(groupUniqArrayArray(tags)) FROM %s
		WHERE kind = 1 AND length(tags) > 0 AND %s GROUP BY src, dst, dport, proto`, flows, w)
}

func (s *Store) eventTags(ctx context.Context, b *engine.Builder, flows, w string) error {
	q := eventTagsSQL(flows, w)
	var (
		src, dst []byte
		dport    uint16
		proto    uint8
		tags     []string
	)
	return s.stream(ctx, q, []any{&src, &dst, &dport, &proto, &tags}, func() error {
		b.AddEventTags(addr16(src), addr16(dst), dport, proto, tags)
		return nil
	})
}

// manifestSummary rebuilds the reading statistics of the committed files.
func manifestSummarySQL(m string) string {
	return fmt.Sprintf(`SELECT any(path), any(format), any(unit), any(lines), any(records), any(skipped), any(skips)
		FROM %s WHERE load_id IN (SELECT min(load_id) FROM %s GROUP BY hash) GROUP BY hash ORDER BY min(loaded), any(path)`, m, m)
}

func (s *Store) manifestSummary(ctx context.Context) (*ingest.Summary, error) {
	q := manifestSummarySQL(s.table(manifestTable))
	var (
		path, format, unit, skips string
		lines, records, skipped   int64
	)
	sum := &ingest.Summary{}
	err := s.stream(ctx, q, []any{&path, &format, &unit, &lines, &records, &skipped, &skips}, func() error {
		fs := &ingest.FileStats{Name: path, Format: format, Unit: unit, Lines: lines, Records: records, Skipped: skipped}
		if skips != "" && skips != "null" {
			if err := json.Unmarshal([]byte(skips), &fs.Skips); err != nil {
				return fmt.Errorf("clickhouse %s: manifest of %s: skips: %w", s.cfg, path, err)
			}
		}
		sum.Files = append(sum.Files, fs)
		sum.Records += records
		sum.Skipped += skipped
		return nil
	})
	return sum, err
}

// readSQL is every query Aggregate runs, in order, for a check on other server versions.
func (s *Store) readSQL(r Range) []string {
	flows, w := s.table(flowsTable), s.where(r)
	return []string{totalsSQL(flows, w), pairsSQL(flows, w), hourlySQL(flows, w), answerNamesSQL(flows, w),
		sniNamesSQL(flows, w), httpNamesSQL(flows, w), dnsSQL(flows, w), eventTagsSQL(flows, w),
		manifestSummarySQL(s.table(manifestTable))}
}
