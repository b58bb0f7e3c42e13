package ready

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/clientinfo"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
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

// The TLS files pki reports, as the ready stage finds them in State.
var (
	flatFiles = core.TLSFiles{CACert: "/certs/ca.crt", ServerCert: "/certs/docker.crt", ServerKey: "/certs/docker.key",
		ClientCA: "/certs/ca.crt", ClientCert: "/certs/docker-client.crt", ClientKey: "/certs/docker-client.key"}
	dindFiles = core.TLSFiles{CACert: "/certs/server/ca.pem", ServerCert: "/certs/server/cert.pem", ServerKey: "/certs/server/key.pem",
		ClientCA: "/certs/client/ca.pem", ClientCert: "/certs/client/cert.pem", ClientKey: "/certs/client/key.pem"}
	usersFlat = core.TLSFiles{CACert: "/certs/ca.crt", ServerCert: "/certs/docker.crt", ServerKey: "/certs/docker.key"}
	usersDind = core.TLSFiles{CACert: "/certs/server/ca.pem", ServerCert: "/certs/server/cert.pem", ServerKey: "/certs/server/key.pem"}
)

// resolve is the configuration internal/config resolves for a /dinv with
// the flags set changes, env and the engine arguments args.
func resolve(t *testing.T, set func(*config.Flags), env map[string]string, args ...string) core.Config {
	t.Helper()
	return configtest.Resolve(t, set, env, args...)
}

func TestReadyStage(t *testing.T) {
	const sock = "/var/run/docker.sock"
	plain := resolve(t, nil, nil)
	verify := resolve(t, func(f *config.Flags) { f.TLSVerify = true }, nil)
	verifyDind := resolve(t, nil, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"})
	cases := []struct {
		name     string
		answerAt int  // the ping that answers; 0: none
		dies     bool // the engine exits after the first failed ping
		timesOut bool // the ready timeout passes after the first failed ping
		cfg      core.Config
		files    core.TLSFiles // what pki reported
		stale    bool          // a previous run's client information is there
		wantErr  string
		wantLog  []string
		unwanted []string
		wantInfo *clientinfo.Info // the client information recorded; nil: none
	}{
		{name: "a plain engine that answers on the third ping is reported with a warning",
			answerAt: 3, cfg: plain,
			wantLog: []string{"[INFO]  engine ready: after=1.5s DOCKER_HOST=tcp://10.0.0.2:2375",
				"[WARN]  the API is served on TCP without client certificates: anyone who can reach this address is root on the host; start with -tlsverify to require them",
				"listener=tcp://0.0.0.0:2375 tls=off"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2375", Socket: sock}},
		{name: "a -tlsverify engine says which files to copy out and how to use them",
			answerAt: 1, cfg: verify, files: flatFiles,
			wantLog: []string{"DOCKER_HOST=tcp://10.0.0.2:2376",
				`copy="docker cp <container>:/certs/ca.crt ca.pem; docker cp <container>:/certs/docker-client.crt cert.pem; docker cp <container>:/certs/docker-client.key key.pem"`,
				`env="DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir of the copies>"`},
			unwanted: []string{"[WARN]"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock, TLSVerify: true,
				CA: "/certs/ca.crt", Cert: "/certs/docker-client.crt", Key: "/certs/docker-client.key"}},
		{name: "a -tlsverify engine in docker:dind's layout names client/, already in the docker CLI's names",
			answerAt: 1, cfg: verifyDind, files: dindFiles,
			wantLog: []string{"DOCKER_HOST=tcp://10.0.0.2:2376", `copy="docker cp <container>:/certs/client/. <dir>"`,
				`env="DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir> (or /certs/client where that directory is shared)"`},
			unwanted: []string{"docker-client", "ca.crt", "server/", "[WARN]"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock, TLSVerify: true,
				CA: "/certs/client/ca.pem", Cert: "/certs/client/cert.pem", Key: "/certs/client/key.pem"}},
		{name: "with the user's certificates and no client pair no client file is named: clients need one of the user's CA",
			answerAt: 1, cfg: verify, files: usersFlat,
			wantLog: []string{`copy="docker cp <container>:/certs/ca.crt ca.pem"`,
				`clients="need their own cert.pem and key.pem, signed by the CA in /certs/ca.crt: dinv made no client certificate"`},
			unwanted: []string{"docker-client", "docker cp <container>:/certs/docker", "[WARN]"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock, TLSVerify: true}},
		{name: "the same in docker:dind's layout names no file in client/",
			answerAt: 1, cfg: verifyDind, files: usersDind,
			wantLog: []string{`copy="docker cp <container>:/certs/server/ca.pem ca.pem"`,
				`clients="need their own cert.pem and key.pem, signed by the CA in /certs/server/ca.pem`},
			unwanted: []string{"client/", "[WARN]"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock, TLSVerify: true}},
		{name: "a -tls engine needs only the server certificate copied out",
			answerAt: 1, cfg: resolve(t, func(f *config.Flags) { f.TLS, f.CertDir = true, "/c" }, nil),
			files: core.TLSFiles{ServerCert: "/c/docker.crt", ServerKey: "/c/docker.key"},
			wantLog: []string{`copy="docker cp <container>:/c/docker.crt ca.pem"`,
				"[WARN]  the API is served on TCP without client certificates", "listener=tcp://0.0.0.0:2376 tls=tls"},
			unwanted: []string{"docker-client"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock}},
		{name: "a -tls engine in docker:dind's layout needs server/cert.pem copied out",
			answerAt: 1, cfg: resolve(t, func(f *config.Flags) { f.TLS = true }, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"}),
			files:    core.TLSFiles{ServerCert: "/certs/server/cert.pem", ServerKey: "/certs/server/key.pem"},
			wantLog:  []string{`copy="docker cp <container>:/certs/server/cert.pem ca.pem"`, "[WARN]  the API is served on TCP without client certificates"},
			unwanted: []string{"client/"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock}},
		{name: "a -tlsverify engine whose pki stage did not run names no file",
			answerAt: 1, cfg: verify,
			wantLog:  []string{`DOCKER_HOST=tcp://10.0.0.2:2376 env=DOCKER_TLS_VERIFY=1`},
			unwanted: []string{"copy=", "/certs"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2376", Socket: sock, TLSVerify: true}},
		{name: "a -local engine is reached on its socket",
			answerAt: 1, cfg: resolve(t, func(f *config.Flags) { f.Local, f.Socket = true, "/run/d.sock" }, nil),
			wantLog:  []string{"DOCKER_HOST=unix:///run/d.sock"},
			unwanted: []string{"tcp://", "[WARN]"},
			wantInfo: &clientinfo.Info{DockerHost: "unix:///run/d.sock", Socket: "/run/d.sock"}},
		{name: "a user's TCP host is reported with its own port, the others named too, each warned of",
			answerAt: 1, cfg: resolve(t, nil, nil, "--host=tcp://0.0.0.0:2380", "--host", "tcp://127.0.0.1:2381"),
			wantLog: []string{`DOCKER_HOST=tcp://10.0.0.2:2375 also="tcp://0.0.0.0:2380,tcp://127.0.0.1:2381"`,
				"listener=tcp://0.0.0.0:2375", "listener=tcp://0.0.0.0:2380", "listener=tcp://127.0.0.1:2381"},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2375", Socket: sock}},
		{name: "a user's TCP host on dinv's port replaces dinv's listener, and a loopback one is reported as such",
			answerAt: 1, cfg: resolve(t, nil, nil, "-Htcp://127.0.0.1:2375"),
			wantLog:  []string{"DOCKER_HOST=tcp://127.0.0.1:2375"},
			unwanted: []string{"0.0.0.0", "also="},
			wantInfo: &clientinfo.Info{DockerHost: "tcp://127.0.0.1:2375", Socket: sock}},
		{name: "a user's unix socket is the one dinv waits on and records",
			answerAt: 1, cfg: resolve(t, func(f *config.Flags) { f.Local = true }, nil, "--host=unix:///run/user.sock"),
			wantLog:  []string{"DOCKER_HOST=unix:///run/user.sock"},
			wantInfo: &clientinfo.Info{DockerHost: "unix:///run/user.sock", Socket: "/run/user.sock"}},
		{name: "a new run's client information replaces the previous one's",
			answerAt: 2, cfg: plain, stale: true,
			wantInfo: &clientinfo.Info{DockerHost: "tcp://10.0.0.2:2375", Socket: sock}},
		{name: "an engine that dies before answering fails the stage with its last error, and leaves no client information",
			dies: true, cfg: plain, stale: true,
			wantErr:  "engine exited with status 1 before answering: failed to load listeners: bind: address already in use",
			unwanted: []string{"engine ready"}},
		{name: "an engine silent past the timeout gets a warning and dinv keeps supervising, without client information",
			timesOut: true, cfg: plain, stale: true,
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
				ContainerIP: net.ParseIP("10.0.0.2"), Engine: eng, TLSFiles: c.files}
			st.Config.ReadyTimeout = time.Minute
			info := filepath.Join(t.TempDir(), "run", "dinv", "client.json")
			if c.stale {
				if err := clientinfo.Write(info, clientinfo.Info{DockerHost: "tcp://10.9.9.9:2376", TLSVerify: true}); err != nil {
					t.Fatal(err)
				}
			}
			var pinged []string
			pingAt := func(ctx context.Context, socket string) error {
				pinged = append(pinged, socket)
				return ping(ctx, socket)
			}
			cli := filepath.Join(t.TempDir(), "docker.sock")
			r := &stage{ping: pingAt, clock: clock, every: time.Millisecond, infoPath: info, cliSocket: cli}
			err := r.Run(core.WithLog(context.Background(), log), st)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || err.Error() != c.wantErr) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
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
			got, err := clientinfo.Read(info)
			switch {
			case c.wantInfo == nil && err == nil:
				t.Errorf("client information %+v recorded, want none", got)
			case c.wantInfo != nil && err != nil:
				t.Errorf("no client information: %v", err)
			case c.wantInfo != nil && *got != *c.wantInfo:
				t.Errorf("client information %+v, want %+v", *got, *c.wantInfo)
			}
			for _, p := range pinged {
				if p != st.Config.Engine.Socket() {
					t.Errorf("pinged %s, want the engine's socket %s", p, st.Config.Engine.Socket())
				}
			}
			if target, err := os.Readlink(cli); c.answerAt > 0 && st.Config.Engine.Socket() != cli && (err != nil || target != st.Config.Engine.Socket()) {
				t.Errorf("the CLI's default socket links to %q (%v), want the engine's %s", target, err, st.Config.Engine.Socket())
			}
			if fi, err := os.Stat(info); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("client information mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestReadyStageUnderDryRunRecordsNothing: the stage is skipped under
// -dry-run; were it run, it would neither remove nor write client
// information.
func TestReadyStageUnderDryRunRecordsNothing(t *testing.T) {
	if _, ok := New().(core.DryRunSkipper); !ok {
		t.Error("ready is not skipped under -dry-run")
	}
	info := filepath.Join(t.TempDir(), "client.json")
	if err := clientinfo.Write(info, clientinfo.Info{DockerHost: "tcp://10.9.9.9:2376"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(info)
	eng := &fakeEngine{done: make(chan struct{})}
	r := &stage{ping: func(context.Context, string) error { return nil }, clock: core.RealClock{}, every: time.Millisecond, infoPath: info}
	cfg := resolve(t, func(f *config.Flags) { f.DryRun = true }, nil)
	st := &core.State{Config: cfg, Engine: eng}
	if err := r.Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if after, err := os.ReadFile(info); err != nil || string(after) != string(before) {
		t.Errorf("client information changed under -dry-run: %s %v", after, err)
	}
}

func TestReadyStageWithoutAnEngineFails(t *testing.T) {
	r := &stage{ping: ping, clock: core.RealClock{}, every: time.Millisecond}
	if err := r.Run(context.Background(), &core.State{}); err == nil {
		t.Fatal("no error")
	}
}
