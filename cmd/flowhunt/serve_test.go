package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the serving goroutine and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeCommand(t *testing.T) {
	dir := scenarioDir(t)
	addrc := make(chan net.Addr, 1)
	serveReady = func(a net.Addr) { addrc <- a }
	defer func() { serveReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--dns-map", filepath.Join(dir, "rdns.txt"), filepath.Join(dir, "flows.log")}, &out, &errb)
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("serve exited %d before listening: %s", code, errb.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start listening")
	}
	if !strings.HasPrefix(addr.String(), "127.0.0.1:") {
		t.Errorf("listening on %s, want loopback", addr)
	}
	resp, err := http.Get("http://" + addr.String() + "/api/report")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		Hosts []struct {
			IP string `json:"ip"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 || len(doc.Hosts) < 2 {
		t.Errorf("GET /api/report: %d, %d hosts, err %v", resp.StatusCode, len(doc.Hosts), err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
	if !strings.Contains(errb.String(), "open http://127.0.0.1:") {
		t.Errorf("stderr does not say where to look: %q", errb.String())
	}
}

func TestServeUsage(t *testing.T) {
	dir := scenarioDir(t)
	log := filepath.Join(dir, "flows.log")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve"}, "at least one PATH"},
		{[]string{"serve", "-"}, "cannot read stdin"},
		{[]string{"serve", "--listen", "8080", log}, "want HOST:PORT"},
		{[]string{"serve", filepath.Join(dir, "nope.log")}, "nope.log"},
	} {
		code, _, stderr := cli(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.msg) {
			t.Errorf("flowhunt %v = %d, %q; want %d with %q", tt.args, code, stderr, exitUsage, tt.msg)
		}
	}
}
