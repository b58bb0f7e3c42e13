package ready

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// fakeClock fires the ready timeout when the test closes timeout; every
// other wait passes at once.
type fakeClock struct {
	now     time.Time
	readyIn time.Duration
	timeout chan time.Time
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	if d == c.readyIn {
		return c.timeout
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// fakeEngine is a core.Engine whose exit the test controls.
type fakeEngine struct {
	done    chan struct{}
	reason  string
	lastErr string
}

func (e *fakeEngine) Done() <-chan struct{}       { return e.done }
func (e *fakeEngine) ExitCode() int               { return 1 }
func (e *fakeEngine) Reason() string              { return e.reason }
func (e *fakeEngine) Stop()                       {}
func (e *fakeEngine) Signal(syscall.Signal) error { return nil }
func (e *fakeEngine) LastError() string           { return e.lastErr }

func TestReadyStage(t *testing.T) {
	cases := []struct {
		name     string
		answerAt int  // the ping that answers; 0: none
		dies     bool // the engine exits after the first failed ping
		timesOut bool // the ready timeout passes after the first failed ping
		cfg      core.Config
		wantErr  string
		wantLog  []string
		unwanted []string
	}{
		{name: "a plain engine that answers on the third ping is reported with a warning",
			answerAt: 3, cfg: core.Config{Port: 2375},
			wantLog: []string{"[INFO]  engine ready: after=1.5s DOCKER_HOST=tcp://10.0.0.2:2375",
				"[WARN]  the API is served on TCP without TLS: anyone who can reach this port is root on the host; start with -tlsverify", "port=2375"}},
		{name: "a -tlsverify engine says which files to copy out and how to use them",
			answerAt: 1, cfg: core.Config{Port: 2376, TLS: true, TLSVerify: true, CertDir: "/certs"},
			wantLog: []string{"DOCKER_HOST=tcp://10.0.0.2:2376",
				`copy="docker cp <container>:/certs/ca.crt ca.pem; docker cp <container>:/certs/docker-client.crt cert.pem; docker cp <container>:/certs/docker-client.key key.pem"`,
				`env="DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir of the copies>"`},
			unwanted: []string{"[WARN]"}},
		{name: "a -tls engine needs only the server certificate copied out",
			answerAt: 1, cfg: core.Config{Port: 2376, TLS: true, CertDir: "/c"},
			wantLog:  []string{`copy="docker cp <container>:/c/docker.crt ca.pem"`},
			unwanted: []string{"docker-client", "[WARN]"}},
		{name: "a -local engine is reached on its socket",
			answerAt: 1, cfg: core.Config{Local: true, Socket: "/run/d.sock"},
			wantLog:  []string{"DOCKER_HOST=unix:///run/d.sock"},
			unwanted: []string{"tcp://", "[WARN]"}},
		{name: "an engine that dies before answering fails the stage with its last error",
			dies: true, cfg: core.Config{Port: 2375},
			wantErr:  "engine exited with status 1 before answering: failed to load listeners: bind: address already in use",
			unwanted: []string{"engine ready"}},
		{name: "an engine silent past the timeout gets a warning and dinv keeps supervising",
			timesOut: true, cfg: core.Config{Port: 2375},
			wantLog:  []string{"[WARN]  the engine does not answer yet; still supervising it", "waited=1m0s", "connection refused"},
			unwanted: []string{"engine ready"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0), readyIn: time.Minute, timeout: make(chan time.Time)}
			eng := &fakeEngine{done: make(chan struct{}), reason: "engine exited with status 1",
				lastErr: "failed to load listeners: bind: address already in use"}
			pings := 0
			ping := func(ctx context.Context, socket string) error {
				pings++
				if pings == c.answerAt {
					return nil
				}
				if pings == 1 && c.dies {
					close(eng.done)
				}
				if pings == 1 && c.timesOut {
					close(clock.timeout)
				}
				return errors.New("dial unix: connection refused")
			}
			var buf bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
			st := &core.State{Config: c.cfg, Started: clock.now.Add(-1500 * time.Millisecond),
				ContainerIP: net.ParseIP("10.0.0.2"), Engine: eng}
			st.Config.ReadyTimeout = time.Minute
			r := &readyStage{ping: ping, clock: clock, every: time.Millisecond}
			err := r.Run(core.WithLog(context.Background(), log), st)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || err.Error() != c.wantErr) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
			if answered := c.answerAt > 0; answered != !st.ReadyAt.IsZero() || answered && !st.ReadyAt.Equal(clock.now) {
				t.Errorf("ReadyAt = %v, want the time of the answer only when the engine answered", st.ReadyAt)
			}
			out := buf.String()
			for _, w := range c.wantLog {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			for _, u := range c.unwanted {
				if strings.Contains(out, u) {
					t.Errorf("log has %q:\n%s", u, out)
				}
			}
		})
	}
}

func TestReadyStageWithoutAnEngineFails(t *testing.T) {
	r := &readyStage{ping: Ping, clock: realClock{}, every: time.Millisecond}
	if err := r.Run(context.Background(), &core.State{}); err == nil {
		t.Fatal("no error")
	}
}

func TestPing(t *testing.T) {
	cases := []struct {
		name    string
		status  int // 0: no server on the socket
		wantErr string
	}{
		{"an engine answering 200 is healthy", http.StatusOK, ""},
		{"an engine answering 500 is not", http.StatusInternalServerError, "500 Internal Server Error"},
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
			err := Ping(ctx, sock)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), sock)) {
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			}
		})
	}
}

func TestPingGivesUpWhenItsContextEnds(t *testing.T) {
	// An engine that accepts the connection but never answers (it is still
	// starting): Ping must return when the context ends, not hang.
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Ping(ctx, sock) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), sock) {
			t.Fatalf("error %v, want one naming %s", err, sock)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ping did not return after its context ended")
	}
}
