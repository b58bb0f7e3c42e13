package swarm

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/engineapi"
	"github.com/dinv/dinv/test/harness"
)

// rootCAPEM is a swarm's root CA as the engine serves it; only its bytes
// matter (their digest is in the swarm's tokens).
func rootCAPEM(name string) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + name + "\n-----END CERTIFICATE-----\n")
}

// tokenOf makes a well-formed join token of the swarm with root CA root;
// secret tells tokens of one swarm apart.
func tokenOf(root []byte, secret string) core.Secret {
	sum := sha256.Sum256(root)
	d := new(big.Int).SetBytes(sum[:]).Text(36)
	s := new(big.Int).SetBytes([]byte(secret)).Text(36)
	pad := func(s string, n int) string {
		if len(s) > n {
			return s[len(s)-n:]
		}
		return strings.Repeat("0", n-len(s)) + s
	}
	return core.Secret("SWMTKN-1-" + pad(d, 50) + "-" + pad(s, 25))
}

var (
	rootA    = rootCAPEM("swarm A")
	rootB    = rootCAPEM("swarm B")
	workerA  = tokenOf(rootA, "worker-a")
	managerA = tokenOf(rootA, "manager-a")
	workerB  = tokenOf(rootB, "worker-b")
)

// apiErr is an engine's refusal as engineapi returns it.
func apiErr(status int, msg string) error {
	return &engineapi.Error{Method: "POST", Path: "/swarm/join", Status: status, Message: msg}
}

// The engine's own words, as measured on 28.5.
var (
	errWrongToken  = apiErr(400, "rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster")
	errOtherCA     = apiErr(500, "remote CA does not match fingerprint. Expected: 6298ba06d16478a075438987f762634240f10dadfcad350ece87324a4f88415c")
	errNotTLS      = apiErr(503, `rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake"`)
	errRefused     = apiErr(503, `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.9:2377: connect: connection refused"`)
	errAlready     = apiErr(503, `This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.`)
	errEngineSlow  = apiErr(500, `Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the "docker info" command to see the current swarm status of your node.`)
	noLeader       = apiErr(503, "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")
	errNotAnswered = errors.New("dial unix /var/run/docker.sock: connect: no such file or directory")
)

// fakeEngine is an engineAPI whose answers a test scripts. Unless a script
// says otherwise, a join succeeds and makes the host an active worker (or
// manager, with the manager token), and an init makes it an active manager.
type fakeEngine struct {
	mu sync.Mutex
	t  *testing.T

	node       nodeState
	nodeErrs   int         // the first Node calls that fail
	joins      []error     // the answers to successive joins; nil past the end
	afterJoin  []nodeState // the state a failed join leaves, per join (zero: unchanged)
	initErr    error
	swarmErr   error // GET /swarm's answer on a manager
	cluster    cluster
	joinBlocks chan struct{} // a join waits for it (or its context)

	calls  []string
	tokens []core.Secret // the tokens joins were given
}

func (f *fakeEngine) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeEngine) Node(ctx context.Context) (nodeState, error) {
	f.record("info")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nodeErrs > 0 {
		f.nodeErrs--
		return nodeState{}, errNotAnswered
	}
	return f.node, nil
}

func (f *fakeEngine) Init(ctx context.Context, listen, advertise string) error {
	f.record(fmt.Sprintf("init listen=%s advertise=%s", listen, advertise))
	if f.initErr != nil {
		return f.initErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node = nodeState{ID: "n1", State: "active", Manager: true, ClusterID: "c1"}
	return nil
}

func (f *fakeEngine) Join(ctx context.Context, listen, advertise, remote string, tok core.Secret) error {
	f.record(fmt.Sprintf("join listen=%s advertise=%s remote=%s", listen, advertise, remote))
	f.mu.Lock()
	i := len(f.tokens)
	f.tokens = append(f.tokens, tok)
	var err error
	if i < len(f.joins) {
		err = f.joins[i]
	}
	block := f.joinBlocks
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			f.mu.Lock()
			f.node = nodeState{ID: "half", State: "pending"}
			f.mu.Unlock()
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		f.node = nodeState{ID: "n2", State: "active", Manager: tok == managerA}
		return nil
	}
	if i < len(f.afterJoin) && f.afterJoin[i].State != "" {
		f.node = f.afterJoin[i]
	}
	return err
}

func (f *fakeEngine) Leave(ctx context.Context) error {
	f.record("leave")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node = nodeState{State: "inactive"}
	return nil
}

func (f *fakeEngine) Swarm(ctx context.Context) (cluster, error) {
	f.record("swarm")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.node.Manager {
		return cluster{}, apiErr(503, "This node is not a swarm manager.")
	}
	if f.swarmErr != nil {
		return cluster{}, f.swarmErr
	}
	return f.cluster, nil
}

// count is how many calls start with prefix.
func (f *fakeEngine) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// fakeClock passes every wait at once, moving its time on by it, and
// records the waits; onWait runs after the n-th.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	waits  []time.Duration
	onWait func(n int)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	n, now, hook := len(c.waits), c.now, c.onWait
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

func (c *fakeClock) waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum time.Duration
	for _, w := range c.waits {
		sum += w
	}
	return sum
}

// fakeDial refuses the first refusals connections, then takes them.
type fakeDial struct {
	mu       sync.Mutex
	refusals int
	tries    int
}

func (d *fakeDial) dial(ctx context.Context, addr string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tries++
	if d.refusals < 0 || d.tries <= d.refusals {
		return fmt.Errorf("dial tcp %s: connect: connection refused", addr)
	}
	return nil
}

// newLog is a debug-level logger writing into a buffer.
func newLog() (hclog.Logger, *harness.Buffer) {
	b := &harness.Buffer{}
	return hclog.New(&hclog.LoggerOptions{Name: "dinv.swarm", Level: hclog.Debug, Output: b}), b
}
