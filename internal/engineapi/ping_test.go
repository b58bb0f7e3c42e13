package engineapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPing(t *testing.T) {
	cases := []struct {
		name    string
		status  int // 0: no server on the socket
		wantErr string
	}{
		{"an engine answering 200 is healthy", http.StatusOK, ""},
		{"an engine answering 500 is not", http.StatusInternalServerError, "GET /_ping: 500"},
		{"no engine on the socket is not, and the error names the socket", 0, "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "d.sock")
			if c.status != 0 {
				l, err := net.Listen("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/_ping" {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					w.WriteHeader(c.status)
					fmt.Fprint(w, "OK")
				})}
				go srv.Serve(l)
				defer srv.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := (&Client{Socket: sock}).Ping(ctx)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), sock)) {
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			}
		})
	}
}

func TestPingGivesUpWhenItsContextEnds(t *testing.T) {
	// An engine that accepts the connection but never answers (it is still
	// starting): Ping must return when the context ends, not hang.
	sock := silentEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- (&Client{Socket: sock}).Ping(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), sock) {
			t.Fatalf("error %v, want one naming %s", err, sock)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ping did not return after its context ended")
	}
}
