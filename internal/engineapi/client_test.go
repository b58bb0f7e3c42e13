package engineapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveHTTP serves h with net/http on a unix socket and returns its path.
func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// serveRaw answers every connection on a unix socket with answer, verbatim,
// once the request's head has been read, and returns the socket's path and
// the requests it read (head and body).
func serveRaw(t *testing.T, answer string) (string, <-chan string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reqs := make(chan string, 8)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func(conn net.Conn) {
				defer conn.Close()
				r := bufio.NewReader(conn)
				var head strings.Builder
				length := 0
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if strings.HasPrefix(strings.ToLower(line), "content-length:") {
						length = atoi(strings.TrimSpace(line[len("content-length:"):]))
					}
					if line == "\r\n" {
						break
					}
				}
				body := make([]byte, length)
				io.ReadFull(r, body)
				reqs <- head.String() + string(body)
				io.WriteString(conn, answer)
			}(conn)
		}
	}()
	return sock, reqs
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestDoWithNetHTTPServer(t *testing.T) {
	type info struct {
		Swarm struct{ LocalNodeState string }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Swarm":{"LocalNodeState":"active"}}`)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		// Flushed in parts: net/http answers chunked.
		for i := 0; i < 3; i++ {
			io.WriteString(w, strings.Repeat(" ", 5000))
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, `{"Swarm":{"LocalNodeState":"pending"}}`)
	})
	mux.HandleFunc("POST /swarm/join", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ JoinToken string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster"}`+"\n")
	})
	mux.HandleFunc("POST /swarm/leave", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("force") != "true" {
			http.Error(w, "not forced", 500)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	c := &Client{Socket: serveHTTP(t, mux)}
	ctx := context.Background()

	t.Run("a Content-Length answer decodes", func(t *testing.T) {
		var got info
		if err := c.Do(ctx, "GET", "/info", nil, &got); err != nil || got.Swarm.LocalNodeState != "active" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("a chunked answer decodes", func(t *testing.T) {
		var got info
		if err := c.Do(ctx, "GET", "/big", nil, &got); err != nil || got.Swarm.LocalNodeState != "pending" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("a refusal is an Error with the engine's message", func(t *testing.T) {
		err := c.Do(ctx, "POST", "/swarm/join", map[string]string{"JoinToken": "SWMTKN-1-secret"}, nil)
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, "A valid join token is necessary") {
			t.Fatalf("error = %#v", err)
		}
		if strings.Contains(err.Error(), "SWMTKN") {
			t.Errorf("the error shows the request's body: %v", err)
		}
	})
	t.Run("an empty answer to a POST without body is fine", func(t *testing.T) {
		if err := c.Do(ctx, "POST", "/swarm/leave?force=true", nil, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an unknown path is a 404 Error", func(t *testing.T) {
		var e *Error
		if err := c.Do(ctx, "GET", "/nope", nil, nil); !errors.As(err, &e) || e.Status != 404 {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestDoFraming(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		want         string // LocalNodeState decoded, "" when an error is wanted
		err          string
	}{
		{"Content-Length",
			"HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n{\"State\":\"active\"}   ", "active", ""},
		{"chunked with an extension and a trailer",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{\"Sta\r\nd\r\nte\":\"locked\"}\r\n0\r\nX-Trailer: 1\r\n\r\n", "locked", ""},
		{"chunked wins over Content-Length",
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n{\"State\":\"error\"}\r\n0\r\n\r\n", "error", ""},
		{"to the connection's end",
			"HTTP/1.1 200 OK\r\n\r\n{\"State\":\"inactive\"}", "inactive", ""},
		{"bare LF line ends",
			"HTTP/1.1 200 OK\nContent-Length: 19\n\n{\"State\":\"pending\"}", "pending", ""},
		{"a 100 Continue first",
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n{\"State\":\"active\"}", "active", ""},
		{"a body shorter than its Content-Length",
			"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}", "", "unexpected EOF"},
		{"a bad chunk size",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "", "bad chunk size"},
		{"a chunk without its CRLF",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n", "", "does not end with CRLF"},
		{"not HTTP",
			"SSH-2.0-OpenSSH\r\n", "", "not an HTTP/1.x status line"},
		{"a huge Content-Length",
			"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "", "more than the"},
		{"a malformed header",
			"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "", "malformed header"},
		{"a 500 with a plain body",
			"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 12\r\n\r\nit broke\nnow", "", "500: it broke now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock, _ := serveRaw(t, tc.answer)
			var got struct{ State string }
			err := (&Client{Socket: sock}).Do(context.Background(), "GET", "/info", nil, &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.State != tc.want {
				t.Fatalf("got %q, %v; want %q", got.State, err, tc.want)
			}
		})
	}
}

func TestDoRequestIsWhatTheEngineExpects(t *testing.T) {
	sock, reqs := serveRaw(t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	c := &Client{Socket: sock}
	if err := c.Do(context.Background(), "POST", "/swarm/init", map[string]string{"ListenAddr": "0.0.0.0:2377"}, nil); err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	for _, want := range []string{
		"POST /swarm/init HTTP/1.1\r\n", "Host: docker\r\n", "Connection: close\r\n",
		"Content-Type: application/json\r\n", "Content-Length: 29\r\n", "\r\n\r\n{\"ListenAddr\":\"0.0.0.0:2377\"}",
	} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	if err := c.Do(context.Background(), "POST", "/swarm/leave?force=true", nil, nil); err != nil {
		t.Fatal(err)
	}
	if req := <-reqs; !strings.Contains(req, "Content-Length: 0\r\n") {
		t.Errorf("a POST without body lacks Content-Length: 0:\n%s", req)
	}
}

// silentEngine is the socket of an engine that accepts connections and never
// answers (one still starting), served until the test ends.
func silentEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return sock
}

func TestDoEndsWithItsContext(t *testing.T) {
	sock := silentEngine(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel(errors.New("stopped by SIGTERM")) }()
	start := time.Now()
	err := (&Client{Socket: sock}).Do(ctx, "GET", "/info", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "stopped by SIGTERM") {
		t.Fatalf("error = %v, want the context's cause", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s after the context ended", d)
	}
}

func TestDoWithoutEngine(t *testing.T) {
	err := (&Client{Socket: filepath.Join(t.TempDir(), "none.sock")}).Do(context.Background(), "GET", "/info", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "GET /info") {
		t.Fatalf("error = %v", err)
	}
}
