package swarm

import (
	"context"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// deps are what initSwarm and joinSwarm work with: the engine, a way to tell
// whether a manager's port takes connections, the clock and the stage's
// logger.
type deps struct {
	Engine engineAPI
	Dial   func(ctx context.Context, addr string) error
	Clock  core.Clock
	Log    hclog.Logger
}

// dialTCP is deps.Dial for real: nil when a TCP connection to addr opens
// within a few seconds (it is closed at once).
func dialTCP(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

const (
	// firstWait and maxWait bound the backoff between two tries: the first
	// pause and the longest.
	firstWait = 50 * time.Millisecond
	maxWait   = time.Second
	// requestTimeout bounds one request to the engine; joinTimeout a join,
	// which the engine itself gives up after 20 s (then goes on in the
	// background, which settleTimeout waits for).
	requestTimeout = 30 * time.Second
	joinTimeout    = 45 * time.Second
	settleTimeout  = 30 * time.Second
	// cleanupTimeout bounds leaving a half-joined state once the stage's
	// context has ended: the runner waits 2 s for a stage (Runner.StageWait).
	cleanupTimeout = 1500 * time.Millisecond
)

// backoff doubles its pause from firstWait up to maxWait.
type backoff struct{ next time.Duration }

func (b *backoff) wait() time.Duration {
	if b.next == 0 {
		b.next = firstWait
	}
	d := b.next
	if b.next *= 2; b.next > maxWait {
		b.next = maxWait
	}
	return d
}

// pause waits for the backoff's next pause, cut short by the deadline; an
// error when ctx ends first.
func pause(ctx context.Context, c core.Clock, b *backoff, deadline time.Time) error {
	d := b.wait()
	if left := deadline.Sub(c.Now()); left < d {
		d = left
	}
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.After(d):
		return nil
	}
}

// initSwarm makes this host the first manager of a new swarm, or does
// nothing when it already is in one, and writes the join tokens where joining
// hosts that share the certificate directory find them.
func initSwarm(ctx context.Context, d deps, p plan) error {
	start := d.Clock.Now()
	n, err := node(ctx, d, start.Add(p.Timeout))
	if err != nil {
		return err
	}
	if !n.Member() {
		err := call(ctx, requestTimeout, func(ctx context.Context) error { return d.Engine.Init(ctx, p.Listen, p.Advertise) })
		if err != nil && !isAlreadyMember(err) {
			return errors.Errorf("create the swarm (advertising %s): %s", orAuto(p.Advertise), engineMessage(err))
		}
		created := err == nil
		if n, err = askNode(ctx, d); err != nil {
			return err
		}
		if created {
			d.Log.Info("swarm created", "node", n.ID, "swarm", n.ClusterID, "advertise", orAuto(p.Advertise),
				"after", d.Clock.Now().Sub(start).Round(time.Millisecond))
			return publishTokens(ctx, d, p)
		}
	}
	// A member is left as it is, whatever happens next: failing would stop
	// the engine of a manager its swarm may need for a quorum.
	if reportState(d.Log, n) {
		return nil
	}
	if !n.Manager {
		d.Log.Warn("this host is a worker in its swarm: -swarm-init creates nothing and leaves the join tokens as they are (docker node promote makes it a manager)",
			"node", n.ID, "managers", strings.Join(n.RemoteManagers, ","))
		return nil
	}
	d.Log.Info("already manages a swarm: nothing to create", "node", n.ID, "swarm", n.ClusterID)
	if err := publishTokens(ctx, d, p); err != nil {
		d.Log.Warn("join tokens not refreshed: the files keep those written before", "error", err)
	}
	return nil
}

// publishTokens writes the swarm's join tokens into the token directory.
func publishTokens(ctx context.Context, d deps, p plan) error {
	var cl cluster
	err := call(ctx, requestTimeout, func(ctx context.Context) (err error) { cl, err = d.Engine.Swarm(ctx); return err })
	if err != nil {
		return errors.Errorf("read the join tokens: %s", engineMessage(err))
	}
	for _, role := range []string{"manager", "worker"} {
		if checkToken(cl.Tokens[role].Value()) != nil {
			return errors.Errorf("read the join tokens: the engine's %s token is not one", role)
		}
	}
	wrote, err := writeTokens(p.TokenDir, cl.Tokens)
	if err != nil {
		return err
	}
	if len(wrote) > 0 {
		d.Log.Info("join tokens written for the hosts that share this certificate directory", "files", strings.Join(wrote, ","))
	} else {
		d.Log.Debug("join tokens already written", "dir", p.TokenDir)
	}
	return nil
}

// joinSwarm makes this host join the swarm that the manager at p.Join
// belongs to, with the token of its role, retrying with backoff until the
// manager answers or p.Timeout passes. A host already in a swarm joins nothing; when
// its join token shows that the swarm is another one, that is an error. A
// failed join leaves no swarm state behind.
func joinSwarm(ctx context.Context, d deps, p plan) error {
	start := d.Clock.Now()
	deadline := start.Add(p.Timeout)
	n, err := node(ctx, d, deadline)
	if err != nil {
		return err
	}
	if n.Member() {
		return member(ctx, d, p, n)
	}
	tok, source, err := waitToken(ctx, d, p, deadline)
	if err != nil {
		return err
	}
	return join(ctx, d, p, tok, source, start, deadline)
}

// join tries to join until it succeeds, fails for good, or the deadline
// passes.
func join(ctx context.Context, d deps, p plan, tok core.Secret, source string, start, deadline time.Time) error {
	var last error
	var b backoff
	for attempt := 1; ; attempt++ {
		err := d.Dial(ctx, p.Join)
		if err == nil {
			d.Log.Debug("join", "manager", p.Join, "role", p.Role, "token", source, "advertise", orAuto(p.Advertise), "attempt", attempt)
			err = call(ctx, joinTimeout, func(ctx context.Context) error { return d.Engine.Join(ctx, p.Listen, p.Advertise, p.Join, tok) })
			err = redact(err, tok) // should the engine ever quote it
			if err == nil {
				return joined(ctx, d, p, start)
			}
			if ctx.Err() != nil {
				return abandon(ctx, d, errors.Wrap(context.Cause(ctx), "join the swarm"))
			}
			switch kind := classify(err); kind {
			case alreadyMember: // a join that went through late, or another hand
				n, err := askNode(ctx, d)
				if err != nil {
					return err
				}
				return member(ctx, d, p, n)
			case wrongToken, otherSwarmToken, badToken, notManager:
				return failed(ctx, d, refusal(kind, p, source, err))
			case stillJoining:
				n, err := settle(ctx, d)
				if err == nil && n.State == "active" {
					return joined(ctx, d, p, start)
				}
			}
			d.Log.Debug("join failed", "manager", p.Join, "attempt", attempt, "error", engineMessage(err))
			if cerr := cleanup(ctx, d); cerr != nil {
				return failed(ctx, d, errors.Errorf("join the swarm at %s: %s; then: %v", p.Join, engineMessage(err), cerr))
			}
		} else {
			d.Log.Debug("the manager does not take connections yet", "manager", p.Join, "attempt", attempt, "error", err)
		}
		last = err
		if !d.Clock.Now().Before(deadline) {
			return errors.Errorf("no swarm manager answered at %s within %s (last: %s): is it a manager of a running swarm, reachable from here?",
				p.Join, p.Timeout, engineMessage(last))
		}
		if err := pause(ctx, d.Clock, &b, deadline); err != nil {
			return errors.Wrap(err, "join the swarm")
		}
	}
}

// joined logs the join.
func joined(ctx context.Context, d deps, p plan, start time.Time) error {
	n, err := askNode(ctx, d)
	if err != nil {
		return err
	}
	d.Log.Info("joined the swarm", "manager", p.Join, "role", p.Role, "node", n.ID, "advertise", orAuto(p.Advertise),
		"after", d.Clock.Now().Sub(start).Round(time.Millisecond))
	return nil
}

// member checks a host that is already in a swarm: with a join token at
// hand, that the swarm is the token's (the token carries its root CA's
// digest); nothing is joined either way.
func member(ctx context.Context, d deps, p plan, n nodeState) error {
	kv := []interface{}{"node", n.ID, "state", n.State, "manager", n.Manager}
	if reportState(d.Log, n) {
		return nil
	}
	tok, source, err := tokenNow(p)
	if err != nil {
		d.Log.Debug("no join token to check the swarm against", "error", err)
		d.Log.Info("already in a swarm: nothing to join", kv...)
		return nil
	}
	root, where := rootCA(ctx, d, p, n)
	if root == nil {
		d.Log.Debug("the swarm's root CA is not readable: cannot check the swarm against the token", "looked", where)
		d.Log.Info("already in a swarm: nothing to join", kv...)
		return nil
	}
	if !sameSwarm(tok, root) {
		return errors.Errorf("this host is already in another swarm (node %s, kept in the engine's data) than the one its join token (%s) belongs to: to join %s, give it a new data volume, or start it once without -swarm-join and make it leave (docker swarm leave --force)",
			n.ID, source, p.Join)
	}
	d.Log.Info("already a member of the swarm: nothing to join", kv...)
	return nil
}

// reportState logs a membership the stage leaves alone because of its state
// (locked, in error, still reaching its managers: a manager whose swarm has
// no leader yet, as when all its managers start at once) and reports
// whether it did.
func reportState(log hclog.Logger, n nodeState) bool {
	switch n.State {
	case "locked":
		log.Warn("the swarm is locked on this host: unlock it with docker swarm unlock", "node", n.ID)
	case "error":
		log.Warn("the engine reports a swarm error on this host", "node", n.ID, "error", n.Error)
	case "pending":
		log.Info("already in a swarm, still reaching its managers: nothing to join or create", "node", n.ID, "managers", strings.Join(n.RemoteManagers, ","))
	default:
		return false
	}
	return true
}

// rootCA is the root CA of the swarm the host is in: from the engine for a
// manager, else from the engine's swarm state on disk. nil when neither can
// be read; where says where it looked.
func rootCA(ctx context.Context, d deps, p plan, n nodeState) ([]byte, string) {
	if n.Manager {
		var cl cluster
		err := call(ctx, requestTimeout, func(ctx context.Context) (err error) { cl, err = d.Engine.Swarm(ctx); return err })
		if err == nil && len(cl.RootCA) > 0 {
			return cl.RootCA, "GET /swarm"
		}
	}
	b, err := os.ReadFile(p.RootCAFile)
	if err != nil || len(b) == 0 {
		return nil, p.RootCAFile
	}
	return b, p.RootCAFile
}

// tokenNow is the join token at hand now, and where it comes from:
// DINV_SWARM_TOKEN, -swarm-token-file, else the token directory.
func tokenNow(p plan) (core.Secret, string, error) {
	if p.Token != "" {
		return p.Token, "DINV_SWARM_TOKEN", nil
	}
	path, nofollow := tokenSource(p)
	tok, err := readToken(path, nofollow)
	return tok, path, err
}

// tokenSource is the file the join token is read from: -swarm-token-file as
// given, else the role's file in the token directory, which dinv writes (a
// link there is refused).
func tokenSource(p plan) (string, bool) {
	if p.TokenFile != "" {
		return p.TokenFile, false
	}
	return tokenPath(p.TokenDir, p.Role), true
}

// waitToken returns the join token, waiting (with backoff, until deadline)
// for its file to appear: a manager sharing the certificate directory may
// not have written it yet.
func waitToken(ctx context.Context, d deps, p plan, deadline time.Time) (core.Secret, string, error) {
	var b backoff
	for waited := false; ; waited = true {
		tok, source, err := tokenNow(p)
		if err == nil {
			if waited {
				d.Log.Debug("join token found", "file", source)
			}
			return tok, source, nil
		}
		if !errors.Is(err, errNoToken) {
			return "", "", err
		}
		if !waited {
			d.Log.Info("waiting for the join token", "file", source, "role", p.Role, "timeout", p.Timeout)
		}
		if !d.Clock.Now().Before(deadline) {
			if p.TokenFile != "" {
				return "", "", errors.Errorf("no join token in -swarm-token-file %s within %s", source, p.Timeout)
			}
			return "", "", errors.Errorf("no %s join token in %s within %s: the host started with -swarm-init writes it there when it shares this certificate directory; else give DINV_SWARM_TOKEN or -swarm-token-file",
				p.Role, source, p.Timeout)
		}
		if err := pause(ctx, d.Clock, &b, deadline); err != nil {
			return "", "", errors.Wrap(err, "wait for the join token")
		}
	}
}

// node asks the engine for the host's swarm state, retrying until deadline.
func node(ctx context.Context, d deps, deadline time.Time) (nodeState, error) {
	var b backoff
	for {
		n, err := askNode(ctx, d)
		if err == nil || ctx.Err() != nil || !d.Clock.Now().Before(deadline) {
			return n, err
		}
		d.Log.Debug("the engine does not answer yet", "error", err)
		if err := pause(ctx, d.Clock, &b, deadline); err != nil {
			return nodeState{}, errors.Wrap(err, "ask the engine for its swarm state")
		}
	}
}

// askNode is one GET /info.
func askNode(ctx context.Context, d deps) (n nodeState, err error) {
	err = call(ctx, requestTimeout, func(ctx context.Context) (err error) { n, err = d.Engine.Node(ctx); return err })
	return n, errors.Wrap(err, "ask the engine for its swarm state")
}

// settle waits while the host's join goes on in the engine (pending), up to
// settleTimeout, and returns the state it reaches.
func settle(ctx context.Context, d deps) (nodeState, error) {
	limit := d.Clock.Now().Add(settleTimeout)
	var b backoff
	for {
		n, err := askNode(ctx, d)
		if err != nil || n.State != "pending" || !d.Clock.Now().Before(limit) {
			return n, err
		}
		if err := pause(ctx, d.Clock, &b, limit); err != nil {
			return n, err
		}
	}
}

// cleanup leaves the swarm when a failed join left the host in one (the
// engine may go on joining in the background): no half-joined state.
func cleanup(ctx context.Context, d deps) error {
	n, err := askNode(ctx, d)
	if err != nil {
		return errors.Wrap(err, "check what the failed join left")
	}
	if !n.Member() {
		return nil
	}
	d.Log.Info("leaving what the failed join left", "node", n.ID, "state", n.State)
	err = call(ctx, requestTimeout, d.Engine.Leave)
	return errors.Wrap(err, "leave what the failed join left")
}

// failed cleans up after a join that failed for good and returns err, with
// what the clean-up could not do.
func failed(ctx context.Context, d deps, err error) error {
	if cerr := cleanup(ctx, d); cerr != nil {
		return errors.Errorf("%v; then: %v", err, cerr)
	}
	return err
}

// abandon is failed once ctx has ended (a stop signal, the engine's end):
// the clean-up gets a short time of its own.
func abandon(ctx context.Context, d deps, err error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if cerr := cleanup(cctx, d); cerr != nil {
		d.Log.Debug("no clean-up after the interrupted join", "error", cerr)
	}
	return err
}

// call runs f with ctx bounded by timeout.
func call(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return f(cctx)
}

// failure is what a failed join says about why.
type failure int

const (
	transient       failure = iota // anything else: try again
	alreadyMember                  // the host is in a swarm
	wrongToken                     // the manager refused the token's secret
	otherSwarmToken                // the token's CA digest is not the manager's swarm's
	badToken                       // the engine could not parse the token
	notManager                     // the address does not speak swarm's TLS
	stillJoining                   // the engine's own timeout: it goes on joining in the background
)

// classify reads the engine's answer to a failed join (its gRPC errors reach
// the API as text).
func classify(err error) failure {
	msg := strings.ToLower(engineMessage(err))
	switch {
	case strings.Contains(msg, "already part of a swarm"):
		return alreadyMember
	case strings.Contains(msg, "a valid join token is necessary"):
		return wrongToken
	case strings.Contains(msg, "remote ca does not match fingerprint"):
		return otherSwarmToken
	case strings.Contains(msg, "invalid join token"):
		return badToken
	case strings.Contains(msg, "first record does not look like a tls handshake"),
		strings.Contains(msg, "authentication handshake failed"):
		return notManager
	case strings.Contains(msg, "timeout was reached before node joined"):
		return stillJoining
	}
	return transient
}

// refusal is the error of a join refused for good.
func refusal(kind failure, p plan, source string, err error) error {
	switch kind {
	case wrongToken:
		return errors.Errorf("the manager at %s refused the %s join token (%s): it is not valid in that swarm (mistyped, rotated, or the other role's)",
			p.Join, p.Role, source)
	case otherSwarmToken:
		return errors.Errorf("the join token (%s) belongs to another swarm than the one %s manages: the swarm's CA does not match the token's", source, p.Join)
	case badToken:
		return errors.Errorf("the engine refused the join token (%s): %s", source, engineMessage(err))
	default:
		return errors.Errorf("%s is not a swarm manager: it does not answer with the swarm's TLS there (-swarm-join takes a manager's swarm port, %d unless changed)",
			p.Join, defaultPort)
	}
}

// isAlreadyMember reports the engine's answer to an init or join on a host
// that is in a swarm.
func isAlreadyMember(err error) bool { return classify(err) == alreadyMember }

func orAuto(advertise string) string {
	if advertise == "" {
		return "(chosen by the engine)"
	}
	return advertise
}

// oneLine puts s on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// errorf is errors.Errorf, for messages the caller prefixes.
func errorf(format string, args ...interface{}) error { return errors.Errorf(format, args...) }
