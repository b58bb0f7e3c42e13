package swarm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/test/harness"
)

// world is one host's surroundings in a test: its engine, clock, the
// manager's port and its log.
type world struct {
	eng   *fakeEngine
	clock *fakeClock
	dial  *fakeDial
	log   *harness.Buffer
	l     hclog.Logger
	plan  plan
}

func newWorld(t *testing.T) *world {
	dir := t.TempDir()
	log, buf := newLog()
	w := &world{
		eng:   &fakeEngine{t: t, node: nodeState{State: "inactive"}, cluster: cluster{ID: "c1", RootCA: rootA, Tokens: map[string]core.Secret{"manager": managerA, "worker": workerA}}},
		clock: newClock(),
		dial:  &fakeDial{},
		log:   buf,
		l:     log,
		plan: plan{Join: "10.0.0.9:2377", Role: "worker", Listen: "0.0.0.0:2377", Advertise: "10.0.0.2",
			Timeout: 5 * time.Second, TokenDir: filepath.Join(dir, "certs", "swarm"),
			RootCAFile: filepath.Join(dir, "data", "swarm", "certificates", "swarm-root-ca.crt")},
	}
	return w
}

func (w *world) deps() deps {
	return deps{Engine: w.eng, Dial: w.dial.dial, Clock: w.clock, Log: w.l}
}

func (w *world) join(ctx context.Context) error { return joinSwarm(ctx, w.deps(), w.plan) }
func (w *world) init(ctx context.Context) error { return initSwarm(ctx, w.deps(), w.plan) }

// shareToken writes role's token where the -swarm-init host would.
func (w *world) shareToken(t *testing.T, role string, tok core.Secret) {
	t.Helper()
	if err := os.MkdirAll(w.plan.TokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenPath(w.plan.TokenDir, role), []byte(tok.Value()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// keepRootCA writes the swarm state's root CA, as the engine of a member keeps it.
func (w *world) keepRootCA(t *testing.T, root []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(w.plan.RootCAFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.plan.RootCAFile, root, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		// want: "" for success, else a part of the error
		want       string
		joins      int    // joins the engine was asked for
		leaves     int    // forced leaves
		logged     string // a part of the log
		maxWaited  time.Duration
		finalState string
	}{
		{
			name:  "a worker joins with DINV_SWARM_TOKEN once the manager's port takes connections",
			setup: func(t *testing.T, w *world) { w.plan.Token = workerA; w.dial.refusals = 4 },
			joins: 1, logged: "joined the swarm: manager=10.0.0.9:2377 role=worker node=n2", finalState: "active",
		},
		{
			name: "a manager joins with the token the -swarm-init host shares, which it waits for",
			setup: func(t *testing.T, w *world) {
				w.plan.Role = "manager"
				w.clock.onWait = func(n int) {
					if n == 3 {
						w.shareToken(t, "manager", managerA)
					}
				}
			},
			joins: 1, logged: "waiting for the join token", finalState: "active",
		},
		{
			name: "a token file is read as given",
			setup: func(t *testing.T, w *world) {
				w.plan.TokenFile = filepath.Join(t.TempDir(), "token")
				os.WriteFile(w.plan.TokenFile, []byte("  "+workerA.Value()+"\n\n"), 0o600)
			},
			joins: 1, finalState: "active",
		},
		{
			name:  "the engine is asked again while its API does not answer yet",
			setup: func(t *testing.T, w *world) { w.plan.Token = workerA; w.eng.nodeErrs = 3 },
			joins: 1, finalState: "active",
		},
		{
			name: "a transient failure is tried again, and what it left is left first",
			setup: func(t *testing.T, w *world) {
				w.plan.Token = workerA
				w.eng.joins = []error{errRefused, errors.New("rpc error: code = Unknown desc = raft: proposal dropped")}
				w.eng.afterJoin = []nodeState{{ID: "half", State: "pending"}}
			},
			joins: 3, leaves: 1, logged: "leaving what the failed join left", finalState: "active",
		},
		{
			name: "a join the engine goes on with in the background counts once it is active",
			setup: func(t *testing.T, w *world) {
				w.plan.Token = workerA
				w.eng.joins = []error{errEngineSlow}
				w.eng.afterJoin = []nodeState{{ID: "late", State: "pending"}}
				w.clock.onWait = func(n int) {
					if n == 2 {
						w.eng.mu.Lock()
						w.eng.node = nodeState{ID: "late", State: "active"}
						w.eng.mu.Unlock()
					}
				}
			},
			joins: 1, logged: "joined the swarm", finalState: "active",
		},
		{
			name: "a wrong token fails at once, naming where it came from, and leaves nothing",
			setup: func(t *testing.T, w *world) {
				w.plan.TokenFile = filepath.Join(t.TempDir(), "token")
				os.WriteFile(w.plan.TokenFile, []byte(tokenOf(rootA, "guessed").Value()), 0o600)
				w.eng.joins = []error{errWrongToken}
			},
			want:  "the manager at 10.0.0.9:2377 refused the worker join token (",
			joins: 1, finalState: "inactive",
		},
		{
			name: "another swarm's token fails at once",
			setup: func(t *testing.T, w *world) {
				w.plan.Token = workerB
				w.eng.joins = []error{errOtherCA}
			},
			want:  "the join token (DINV_SWARM_TOKEN) belongs to another swarm than the one 10.0.0.9:2377 manages",
			joins: 1, finalState: "inactive",
		},
		{
			name: "an address that does not speak swarm's TLS is not a manager, and a half-joined state is left",
			setup: func(t *testing.T, w *world) {
				w.plan.Token, w.plan.Join = workerA, "10.0.0.9:2375"
				w.eng.joins = []error{errNotTLS}
				w.eng.afterJoin = []nodeState{{ID: "half", State: "pending"}}
			},
			want:  "10.0.0.9:2375 is not a swarm manager",
			joins: 1, leaves: 1, finalState: "inactive",
		},
		{
			name:      "no manager taking connections within the timeout fails with the last error",
			setup:     func(t *testing.T, w *world) { w.plan.Token = workerA; w.dial.refusals = -1 },
			want:      "no swarm manager answered at 10.0.0.9:2377 within 5s (last: dial tcp 10.0.0.9:2377: connect: connection refused)",
			maxWaited: 5 * time.Second, finalState: "inactive",
		},
		{
			name:      "no token within the timeout says where it was looked for",
			setup:     func(t *testing.T, w *world) {},
			want:      "no worker join token in ",
			maxWaited: 5 * time.Second, finalState: "inactive",
		},
		{
			name: "a token file holding something else fails, without quoting it",
			setup: func(t *testing.T, w *world) {
				w.shareToken(t, "worker", core.Secret("hunter2-not-a-token"))
			},
			want: "worker.token: not a swarm join token", finalState: "inactive",
		},
		{
			name: "a link in place of the shared token file is refused",
			setup: func(t *testing.T, w *world) {
				target := filepath.Join(t.TempDir(), "elsewhere")
				os.WriteFile(target, []byte(workerA.Value()), 0o600)
				os.MkdirAll(w.plan.TokenDir, 0o700)
				os.Symlink(target, tokenPath(w.plan.TokenDir, "worker"))
			},
			want: "read the join token", finalState: "inactive",
		},
		{
			name: "a member of the token's swarm joins nothing (a worker: its root CA on disk)",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "w1", State: "active"}
				w.plan.Token = workerA
				w.keepRootCA(t, rootA)
			},
			logged: "already a member of the swarm: nothing to join: node=w1 state=active manager=false", finalState: "active",
		},
		{
			name: "a member of the token's swarm joins nothing (a manager: its root CA from the engine)",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "m2", State: "active", Manager: true}
				w.shareToken(t, "worker", workerA)
			},
			logged: "already a member of the swarm", finalState: "active",
		},
		{
			name: "a member of another swarm than the token's fails, and stays as it was",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "w1", State: "active"}
				w.plan.Token = workerA
				w.keepRootCA(t, rootB)
			},
			want:       "this host is already in another swarm (node w1, kept in the engine's data) than the one its join token (DINV_SWARM_TOKEN) belongs to: to join 10.0.0.9:2377, give it a new data volume",
			finalState: "active",
		},
		{
			name:   "a member without a token at hand joins nothing",
			setup:  func(t *testing.T, w *world) { w.eng.node = nodeState{ID: "w1", State: "active"} },
			logged: "already in a swarm: nothing to join", finalState: "active",
		},
		{
			name: "a member still reaching its managers joins nothing",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "w1", State: "pending"}
				w.plan.Token = workerB
			},
			logged: "still reaching its managers", finalState: "pending",
		},
		{
			name: "a host that a join reached by another hand meanwhile is checked as a member",
			setup: func(t *testing.T, w *world) {
				w.plan.Token = workerA
				w.eng.joins = []error{errAlready}
				w.eng.afterJoin = []nodeState{{ID: "w1", State: "active", Manager: true}}
			},
			joins: 1, logged: "already a member of the swarm", finalState: "active",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(t, w)
			err := w.join(context.Background())
			if tc.want == "" && err != nil {
				t.Fatalf("error: %v\nlog:\n%s", err, w.log)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q\nlog:\n%s", err, tc.want, w.log)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is not one line: %q", err)
			}
			if got := w.eng.count("join"); got != tc.joins {
				t.Errorf("%d joins, want %d: %v", got, tc.joins, w.eng.calls)
			}
			if got := w.eng.count("leave"); got != tc.leaves {
				t.Errorf("%d leaves, want %d: %v", got, tc.leaves, w.eng.calls)
			}
			if !strings.Contains(w.log.String(), tc.logged) {
				t.Errorf("log lacks %q:\n%s", tc.logged, w.log)
			}
			if tc.maxWaited > 0 && w.clock.waited() != tc.maxWaited {
				t.Errorf("waited %s in all, want exactly the timeout %s", w.clock.waited(), tc.maxWaited)
			}
			if got := w.eng.node.State; got != tc.finalState {
				t.Errorf("the host ends %q, want %q", got, tc.finalState)
			}
			for _, c := range w.eng.calls {
				if strings.HasPrefix(c, "join") && c != "join listen=0.0.0.0:2377 advertise=10.0.0.2 remote="+w.plan.Join {
					t.Errorf("join call %q", c)
				}
			}
		})
	}
}

func TestJoinBacksOffWithoutFixedSleeps(t *testing.T) {
	w := newWorld(t)
	w.plan.Token, w.plan.Timeout = workerA, 10*time.Second
	w.dial.refusals = -1
	w.join(context.Background())
	want := []time.Duration{50, 100, 200, 400, 800, 1000, 1000}
	for i, d := range want {
		if i >= len(w.clock.waits) || w.clock.waits[i] != d*time.Millisecond {
			t.Fatalf("waits %v, want them to start %v ms", w.clock.waits, want)
		}
	}
	for _, d := range w.clock.waits {
		if d > maxWait {
			t.Errorf("a wait of %s, above %s", d, maxWait)
		}
	}
	// One try per pause and one at the deadline.
	if w.dial.tries != len(w.clock.waits)+1 {
		t.Errorf("%d tries for %d pauses", w.dial.tries, len(w.clock.waits))
	}
}

func TestJoinStoppedMidwayLeavesNothing(t *testing.T) {
	w := newWorld(t)
	w.plan.Token = workerA
	w.eng.joinBlocks = make(chan struct{})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error)
	go func() { done <- w.join(ctx) }()
	for w.eng.count("join") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel(&core.StopError{Signal: 15})
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "stopped by SIGTERM") {
		t.Fatalf("error = %v", err)
	}
	if w.eng.count("leave") != 1 || w.eng.node.State != "inactive" {
		t.Errorf("the interrupted join was not undone: %v, state %s", w.eng.calls, w.eng.node.State)
	}
}

func TestInit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, w *world)
		want   string
		inits  int
		tokens bool // the token files hold the swarm's tokens afterwards
		logged string
	}{
		{
			name:  "a host outside any swarm creates it and shares its tokens",
			setup: func(t *testing.T, w *world) {},
			inits: 1, tokens: true,
			logged: "swarm created: node=n1 swarm=c1 advertise=10.0.0.2",
		},
		{
			name:  "the engine is asked again while its API does not answer yet",
			setup: func(t *testing.T, w *world) { w.eng.nodeErrs = 2 },
			inits: 1, tokens: true,
		},
		{
			name: "a host that already manages a swarm creates nothing and refreshes the tokens",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "m1", State: "active", Manager: true, ClusterID: "c1"}
				w.shareToken(t, "worker", workerB) // an old swarm's
			},
			tokens: true, logged: "already manages a swarm: nothing to create: node=m1 swarm=c1",
		},
		{
			name: "a manager whose swarm has no leader yet (all managers starting at once) creates nothing and fails not",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "m1", State: "pending", Manager: true}
				w.eng.swarmErr = noLeader
			},
			logged: "already in a swarm, still reaching its managers: nothing to join or create: node=m1",
		},
		{
			name: "a manager that cannot read its tokens now keeps the files and fails not",
			setup: func(t *testing.T, w *world) {
				w.eng.node = nodeState{ID: "m1", State: "active", Manager: true}
				w.eng.swarmErr = noLeader
				w.shareToken(t, "worker", workerB)
			},
			logged: "[WARN]  dinv.swarm: join tokens not refreshed: the files keep those written before: error=\"read the join tokens: rpc error",
		},
		{
			name:  "a new swarm whose tokens cannot be read fails",
			setup: func(t *testing.T, w *world) { w.eng.swarmErr = noLeader },
			want:  "read the join tokens: rpc error: code = Unknown desc = The swarm does not have a leader",
			inits: 1,
		},
		{
			name:   "a worker creates nothing and leaves the token files alone",
			setup:  func(t *testing.T, w *world) { w.eng.node = nodeState{ID: "w1", State: "active"} },
			logged: "this host is a worker in its swarm",
		},
		{
			name:   "a locked swarm is reported and left alone",
			setup:  func(t *testing.T, w *world) { w.eng.node = nodeState{ID: "m1", State: "locked"} },
			logged: "unlock it with docker swarm unlock",
		},
		{
			name: "a refused init fails with the engine's words",
			setup: func(t *testing.T, w *world) {
				w.eng.initErr = apiErr(400, "must specify a listening address\nbecause ...")
			},
			want:  "create the swarm (advertising 10.0.0.2): must specify a listening address because ...",
			inits: 1,
		},
		{
			name: "a link in place of the token directory is refused",
			setup: func(t *testing.T, w *world) {
				os.MkdirAll(filepath.Dir(w.plan.TokenDir), 0o755)
				os.Symlink(t.TempDir(), w.plan.TokenDir)
			},
			want: "write the join tokens", inits: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(t, w)
			err := w.init(context.Background())
			if tc.want == "" && err != nil {
				t.Fatalf("error: %v\nlog:\n%s", err, w.log)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if got := w.eng.count("init"); got != tc.inits {
				t.Errorf("%d inits, want %d: %v", got, tc.inits, w.eng.calls)
			}
			if tc.inits > 0 && w.eng.count("init listen=0.0.0.0:2377 advertise=10.0.0.2") != tc.inits {
				t.Errorf("calls %v", w.eng.calls)
			}
			if !strings.Contains(w.log.String(), tc.logged) {
				t.Errorf("log lacks %q:\n%s", tc.logged, w.log)
			}
			for role, tok := range map[string]core.Secret{"manager": managerA, "worker": workerA} {
				path := tokenPath(w.plan.TokenDir, role)
				b, err := os.ReadFile(path)
				holds := err == nil && string(b) == tok.Value()+"\n"
				if holds != tc.tokens {
					t.Errorf("%s holds the swarm's token: %v, want %v (err %v)", path, holds, tc.tokens, err)
				}
				if holds {
					if st, _ := os.Lstat(path); st.Mode().Perm() != 0o600 {
						t.Errorf("%s: mode %v, want 0600", path, st.Mode().Perm())
					}
				}
			}
		})
	}
}

func TestInitLeavesTokenFilesThatAreRight(t *testing.T) {
	w := newWorld(t)
	w.eng.node = nodeState{ID: "m1", State: "active", Manager: true}
	if err := w.init(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := tokenPath(w.plan.TokenDir, "worker")
	before, _ := os.Stat(path)
	// A temporary file a killed writer left behind goes.
	leftover := filepath.Join(w.plan.TokenDir, tempPrefix+"worker.token-dead")
	os.WriteFile(leftover, []byte("x"), 0o600)
	if err := w.init(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("an unchanged token file was written again")
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover temporary file is still there: %v", err)
	}
	if !strings.Contains(w.log.String(), "join tokens already written") {
		t.Errorf("log:\n%s", w.log)
	}
	if st, _ := os.Stat(w.plan.TokenDir); st.Mode().Perm() != 0o700 {
		t.Errorf("token directory mode %v, want 0700", st.Mode().Perm())
	}
}

// A token appears in no log line and no error, whatever happens, even at
// debug level.
func TestTokensNeverLogged(t *testing.T) {
	secrets := []core.Secret{workerA, managerA, workerB, tokenOf(rootA, "guessed")}
	runs := map[string]func(t *testing.T, w *world) error{
		"init": func(t *testing.T, w *world) error { return w.init(context.Background()) },
		"join after failures": func(t *testing.T, w *world) error {
			w.plan.Token = workerA
			w.dial.refusals = 2
			w.eng.joins = []error{errRefused, errEngineSlow}
			return w.join(context.Background())
		},
		"wrong token": func(t *testing.T, w *world) error {
			w.plan.Token = tokenOf(rootA, "guessed")
			w.eng.joins = []error{apiErr(400, "invalid join token "+tokenOf(rootA, "guessed").Value())}
			return w.join(context.Background())
		},
		"member of another swarm": func(t *testing.T, w *world) error {
			w.eng.node = nodeState{ID: "w1", State: "active"}
			w.keepRootCA(t, rootB)
			w.shareToken(t, "worker", workerA)
			return w.join(context.Background())
		},
		"timeout waiting for the manager": func(t *testing.T, w *world) error {
			w.plan.Role, w.dial.refusals = "manager", -1
			w.shareToken(t, "manager", managerA)
			return w.join(context.Background())
		},
	}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			err := run(t, w)
			text := w.log.String()
			if err != nil {
				text += "\n" + err.Error()
			}
			if !strings.Contains(w.log.String(), "[DEBUG]") && name != "init" && name != "member of another swarm" {
				t.Errorf("no debug lines: the test proves nothing:\n%s", text)
			}
			for _, s := range secrets {
				if strings.Contains(text, s.Value()) || strings.Contains(text, s.Value()[len(s.Value())-25:]) {
					t.Fatalf("a token in the log or error:\n%s", text)
				}
			}
		})
	}
}

func TestRedactTakesTheTokenOutOfTheEnginesWords(t *testing.T) {
	err := redact(apiErr(400, "invalid join token "+workerA.Value()), workerA)
	if strings.Contains(err.Error(), workerA.Value()) || !strings.Contains(err.Error(), "invalid join token REDACTED") {
		t.Errorf("redacted: %v", err)
	}
	if classify(err) != badToken {
		t.Errorf("classified %v", classify(err))
	}
	if redact(nil, workerA) != nil {
		t.Error("redact(nil) is not nil")
	}
}
