// Package serve is flowhunt's local web UI: the HTML report's views over one finished hunt, plus
// a drill-down that reads the inputs again for the raw flows between a host and a peer. It is
// read-only (GET and HEAD only), serves nothing from disk but the inputs it was started on, and
// by default answers only requests addressed to a loopback name, so a web page the analyst visits
// cannot reach it through DNS rebinding.
package serve

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/report"
)

const (
	// DefaultFlows and MaxFlows bound the raw flows one drill-down returns (the earliest by time).
	DefaultFlows = 500
	MaxFlows     = 5000
)

// Server serves one hunt's results.
type Server struct {
	page   []byte // the live HTML page
	doc    []byte // the JSON report (the output contract)
	paths  []string
	ingest ingest.Options
	// scan admits one raw-flow scan at a time: each reads every input, and a second one at once
	// would only halve the speed of both.
	scan chan struct{}
	// anyHost accepts any Host header: the user chose to listen beyond loopback.
	anyHost bool
}

// New prepares the pages of a finished hunt. paths and opts are the hunt's inputs and reading
// options, used again for drill-downs; listen is the address the server will bind, which decides
// the Host headers it accepts.
func New(res *hunt.Result, paths []string, opts ingest.Options, listen string) (*Server, error) {
	var page, doc bytes.Buffer
	if err := report.LiveHTML(&page, res.Report, res.View, 0); err != nil {
		return nil, err
	}
	if err := report.JSON(&doc, res.Report); err != nil {
		return nil, err
	}
	opts.Progress = nil
	s := &Server{page: page.Bytes(), doc: doc.Bytes(), paths: slices.Clone(paths), ingest: opts, scan: make(chan struct{}, 1)}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		a, err := netip.ParseAddr(host)
		s.anyHost = host != "localhost" && (err != nil || !a.IsLoopback())
	}
	return s, nil
}

// Handler returns the server's routes. Anything else is 404: there is no file serving, so no
// path can reach the disk.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/report", s.serveReport)
	mux.HandleFunc("GET /api/flows", s.serveFlows)
	return s.guard(mux)
}

// guard applies what holds for every response: read-only methods, a loopback Host, and headers
// that keep the pages from being framed, sniffed or leaking their address.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "read-only: only GET and HEAD")
			return
		}
		if !s.anyHost && !loopbackHost(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "this server answers only to localhost and loopback addresses")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", report.PageCSP(true)+"; frame-ancestors 'none'") // not allowed in the page's meta element
	w.Write(s.page)
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.doc)
}

// RawFlow is one record of the inputs, as the drill-down shows it.
type RawFlow struct {
	Time      string  `json:"time"` // RFC 3339 with nanoseconds, UTC
	Kind      string  `json:"kind"` // "flow", or "event" for application metadata (DNS, TLS, alerts)
	Src       string  `json:"src"`  // address:port
	Dst       string  `json:"dst"`
	Proto     string  `json:"proto"`
	Duration  float64 `json:"duration_s,omitempty"`
	BytesOut  uint64  `json:"bytes_out"`
	BytesIn   uint64  `json:"bytes_in"`
	PktsOut   uint64  `json:"pkts_out"`
	PktsIn    uint64  `json:"pkts_in"`
	Action    string  `json:"action,omitempty"`
	DNSQuery  string  `json:"dns_query,omitempty"`
	TLSSNI    string  `json:"tls_sni,omitempty"`
	HTTPHost  string  `json:"http_host,omitempty"`
	UserAgent string  `json:"user_agent,omitempty"`
	Alert     string  `json:"alert,omitempty"`

	ns int64
}

// Flows is a drill-down's answer.
type Flows struct {
	Host    string    `json:"host"`
	Peer    string    `json:"peer"`
	Matched int64     `json:"matched"` // records between host and peer in the inputs
	Flows   []RawFlow `json:"flows"`   // the earliest Limit of them, by time
	Skipped int64     `json:"skipped"` // input lines that could not be read
}

func (s *Server) serveFlows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	host, err := netip.ParseAddr(q.Get("host"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("host %q: not an IP address", q.Get("host")))
		return
	}
	peer, err := ParsePeer(q.Get("peer"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := DefaultFlows
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxFlows {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to %d", l, MaxFlows))
			return
		}
		limit = n
	}
	select {
	case s.scan <- struct{}{}:
		defer func() { <-s.scan }()
	case <-r.Context().Done():
		return
	}
	res, err := Between(r.Context(), s.paths, s.ingest, host.Unmap(), peer, limit)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return // the browser went away
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	res.Peer = q.Get("peer")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// Peer is a drill-down's other end: an address and, when given, the destination port of the
// flows between them.
type Peer struct {
	Addr netip.Addr
	Port uint16 // 0: every port
}

// ParsePeer reads a finding's peer: "ip", "ip:port" or "[v6]:port".
func ParsePeer(s string) (Peer, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return Peer{Addr: ap.Addr().Unmap(), Port: ap.Port()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Peer{Addr: a.Unmap()}, nil
	}
	return Peer{}, fmt.Errorf("peer %q: want an address, address:port or [v6]:port", s)
}

// matches reports whether r runs between host and peer in either direction, to peer's port when
// it names one (flows the peer originated to the host match on the same port: it is the
// destination port of the pair, whoever started it).
func (p Peer) matches(host netip.Addr, r *flow.Record) bool {
	src, dst := r.Src.Unmap(), r.Dst.Unmap()
	if !(src == host && dst == p.Addr) && !(src == p.Addr && dst == host) {
		return false
	}
	return p.Port == 0 || r.DstPort == p.Port
}

// Between reads paths again and returns the records between host and peer: how many there are,
// and the earliest limit of them.
func Between(ctx context.Context, paths []string, opts ingest.Options, host netip.Addr, peer Peer, limit int) (*Flows, error) {
	c := &collector{limit: limit}
	sum, err := ingest.Run(ctx, paths, opts, func() ingest.Sink {
		return sinkFunc(func(r *flow.Record) {
			if peer.matches(host, r) {
				c.add(r)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(c.flows, func(a, b RawFlow) int { return cmp.Compare(a.ns, b.ns) })
	return &Flows{Host: host.String(), Matched: c.matched, Flows: c.flows, Skipped: sum.Skipped}, nil
}

type sinkFunc func(*flow.Record)

func (f sinkFunc) Add(r *flow.Record) { f(r) }

// collector keeps the earliest limit matches from all workers.
type collector struct {
	mu      sync.Mutex
	limit   int
	matched int64
	flows   []RawFlow // unordered; when full, latest is the index of the latest kept
	latest  int
}

func (c *collector) add(r *flow.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.matched++
	if len(c.flows) < c.limit {
		c.flows = append(c.flows, rawFlow(r))
		if len(c.flows) == c.limit {
			c.findLatest()
		}
		return
	}
	if r.Time >= c.flows[c.latest].ns {
		return
	}
	c.flows[c.latest] = rawFlow(r)
	c.findLatest()
}

func (c *collector) findLatest() {
	c.latest = 0
	for i := range c.flows {
		if c.flows[i].ns > c.flows[c.latest].ns {
			c.latest = i
		}
	}
}

func rawFlow(r *flow.Record) RawFlow {
	f := RawFlow{
		Time: time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano), Kind: "flow",
		Src: netip.AddrPortFrom(r.Src.Unmap(), r.SrcPort).String(), Dst: netip.AddrPortFrom(r.Dst.Unmap(), r.DstPort).String(),
		Proto: flow.ProtoName(r.Proto), Duration: float64(r.Duration) / 1e9,
		BytesOut: r.BytesOut, BytesIn: r.BytesIn, PktsOut: r.PktsOut, PktsIn: r.PktsIn, Action: r.Action.String(),
		DNSQuery: r.DNSQuery, TLSSNI: r.TLSSNI, HTTPHost: r.HTTPHost, UserAgent: r.UserAgent, Alert: r.Alert,
		ns: r.Time,
	}
	if f.Proto == "" {
		f.Proto = strconv.Itoa(int(r.Proto))
	}
	if r.Kind == flow.KindEvent {
		f.Kind = "event"
	}
	return f
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// ListenAndServe serves until ctx ends, then shuts down, giving requests in flight a moment.
// ready, when not nil, is called with the bound address once the server accepts connections.
func (s *Server) ListenAndServe(ctx context.Context, listen string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return nil
	}
}
