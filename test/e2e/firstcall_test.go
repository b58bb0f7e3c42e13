//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// firstCalls is how many containers of each image, and of each variant, get
// a first call.
const firstCalls = 20

// maxBeforeBind is how many of an image's activated first calls may come
// before the container's process has bound the port (see TestFirstCall):
// more means dinv binds it late.
const maxBeforeBind = 5

// The first call races the engine: the README's quickstart pasted
// as is, `docker run -d -p 127.0.0.1:PORT:2375 IMAGE` and, the moment it
// returns, `docker -H tcp://127.0.0.1:PORT version`, with no wait and no
// retry. With socket activation (the default) dinv binds the port before
// anything else, so the call waits in the socket's queue and is answered once
// the engine is ready. With the engine's own listener
// (-socket-activation=false) the call comes while nothing listens: that
// variant is run for the record (its failures are counted and logged, they
// do not fail the suite).
//
// The client is the real docker CLI on the host, against the published port
// 127.0.0.1:PORT: the quickstart's address, where the issue's `connection
// reset by peer` was seen (the host engine's proxy accepts, then finds
// nothing listening in the container). It starts the moment `docker run -d`
// returns, which is when the container's first process is started: from
// then on, dinv needs a few milliseconds (exec, Go's start, its flags) to
// bind the port, and the CLI about 15-25 ms to connect. On a busy machine the
// container's process is sometimes scheduled later than the client, and the
// client then finds no socket, whatever that process would do first (a
// minimal launcher that only binds and execs the engine loses the same race;
// the engine's own listener loses it every time). So while the call runs,
// the container's address is probed every millisecond (a TCP connect: with
// activation it waits in the queue, and is closed) to see when the port first
// accepts. An activated call that failed is counted "before the bind" when
// it ended within beforeBindSlack of that moment, or when its version
// negotiation was refused (negotiationRefused), else it is a failure of the
// suite; at most maxBeforeBind calls of firstCalls may come before the
// bind, more means dinv binds the port late.
//
// Two containers start at a time (go test -parallel: GOMAXPROCS by default).
func TestFirstCall(t *testing.T) {
	network, prefix := harness.SubnetNetwork(t, "first-call")
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Run("activated", func(t *testing.T) {
				r := raceFirstCalls(t, image, network, prefix, nil)
				t.Logf("%s, socket activation: %d of %d first calls answered, %d came before the container's process had bound the port; "+
					"from `docker run -d` returning: the port accepted after %s, the answer came after %s%s",
					image, r.ok, firstCalls, len(r.beforeBind), r.durations(r.bound), r.durations(r.took), r.list(r.beforeBind))
				if len(r.failed) > 0 {
					t.Errorf("%s: %d of %d first calls failed after the port was bound, with socket activation:%s",
						image, len(r.failed), firstCalls, r.list(r.failed))
				}
				if len(r.beforeBind) > maxBeforeBind {
					t.Errorf("%s: %d of %d first calls came before the container's process had bound the port (at most %d): does dinv bind it first?",
						image, len(r.beforeBind), firstCalls, maxBeforeBind)
				}
			})
			t.Run("the engine's own listener, for the record", func(t *testing.T) {
				r := raceFirstCalls(t, image, network, prefix, []string{"-socket-activation=false"})
				failed := append(append([]failedCall(nil), r.beforeBind...), r.failed...)
				t.Logf("%s, -socket-activation=false: %d of %d first calls failed (for the record, not a failure of the suite)%s",
					image, len(failed), firstCalls, r.list(failed))
			})
		})
	}
}

// slowAnswer is how long a first call may take before the container's log is
// kept in the test's log, to tell why.
const slowAnswer = 10 * time.Second

// beforeBindSlack is how long after the port first accepted a connection
// (probed every millisecond) a failed call may end and still count as made
// before the bind: the CLI exits a little after its connection is refused.
const beforeBindSlack = 50 * time.Millisecond

// firstCallResults are the outcomes of one image's first calls in one variant.
type firstCallResults struct {
	mu         sync.Mutex
	ok         int
	took       []time.Duration // from `docker run -d` returning to the answer, of the calls answered
	bound      []time.Duration // to the port's first accepted connection (when the probe saw it)
	beforeBind []failedCall    // the calls that failed before the bind
	failed     []failedCall    // the calls that failed after the bind
}

func (r *firstCallResults) durations(d []time.Duration) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return fmt.Sprintf("%s median (%s-%s)", roundMs(s[len(s)/2]), roundMs(s[0]), roundMs(s[len(s)-1]))
}

func roundMs(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// list groups calls by their error: how many, which, when they ended and
// when the port first accepted a connection, from `docker run -d` returning.
func (r *firstCallResults) list(calls []failedCall) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	byErr := map[string][]failedCall{}
	for _, c := range calls {
		byErr[c.err] = append(byErr[c.err], c)
	}
	var lines []string
	for msg, cs := range byErr {
		slices.SortFunc(cs, func(a, b failedCall) int { return a.n - b.n })
		var each []string
		for _, c := range cs {
			each = append(each, fmt.Sprintf("%02d: ended %s, port %s", c.n, roundMs(c.ended), boundString(c.bound)))
		}
		lines = append(lines, fmt.Sprintf("\n  %d× %s\n    (%s)", len(cs), msg, strings.Join(each, "; ")))
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// failedCall is a first call that failed: its number and outcome.
type failedCall struct {
	n int
	firstCallOutcome
}

// raceFirstCalls starts firstCalls DinV containers of image with dinvArgs,
// two at a time, each getting its first call the moment `docker run -d`
// returns, and removes each as soon as its call is over.
func raceFirstCalls(t *testing.T, image, network, prefix string, dinvArgs []string) *firstCallResults {
	p, err := harness.Probe(image)
	if err != nil {
		t.Fatal(err)
	}
	r := &firstCallResults{}
	t.Run("calls", func(t *testing.T) {
		for i := 1; i <= firstCalls; i++ {
			ip := fmt.Sprintf("%s%d", prefix, 9+i) // .10, .11, ...: the calls that may run at once differ
			t.Run(fmt.Sprintf("%02d", i), func(t *testing.T) {
				t.Parallel()
				c := firstCall(t, image, network, ip, p.Options, dinvArgs)
				r.mu.Lock()
				defer r.mu.Unlock()
				if c.bound > 0 {
					r.bound = append(r.bound, c.bound)
				}
				what := failedCall{i, c}
				switch {
				case c.err == "":
					r.ok++
					r.took = append(r.took, c.ended)
				case c.bound == 0 || c.ended <= c.bound+beforeBindSlack || negotiationRefused(c.err):
					r.beforeBind = append(r.beforeBind, what)
				default:
					r.failed = append(r.failed, what)
				}
			})
		}
	})
	return r
}

// negotiationRefused reports whether a call failed because its first
// request, the /_ping that negotiates the API version, was refused or reset:
// the docker CLI then goes on with its own newest API version, and an older
// engine refuses the next request, made once the port was bound, with
// "client version 1.50 is too new". The call came before the bind all the
// same.
func negotiationRefused(err string) bool {
	return strings.Contains(err, "client version") && strings.Contains(err, "is too new")
}

func boundString(d time.Duration) string {
	if d == 0 {
		return "not accepting while the call ran"
	}
	return "accepting from " + roundMs(d)
}

// clientPort is the client's side of a connection in the CLI's errors
// ("read tcp 127.0.0.1:51034->127.0.0.1:23999: read: connection reset by peer").
var clientPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+->`)

// firstCallOutcome is one first call: when it ended and how (err empty: the
// engine answered), and when the probe first saw the port accept a
// connection (0: not while the call ran), both from `docker run -d`
// returning.
type firstCallOutcome struct {
	ended, bound time.Duration
	err          string
}

// firstCall runs one DinV container at ip on network with the API published
// on a free port of 127.0.0.1 and, as soon as `docker run -d` returns, one
// `docker version` against it, while the port is probed at ip. The container
// is removed before it returns; its log is kept in the test's log when an
// activated call failed.
func firstCall(t *testing.T, image, network, ip string, privileges, dinvArgs []string) firstCallOutcome {
	// The port is free when chosen; another process may take it before the
	// engine publishes it: then, and only then, the start is tried again.
	var name, port string
	for try := 1; ; try++ {
		name, port = harness.Name("first-call"), strconv.Itoa(harness.FreePort(t))
		args := append([]string{"run", "-d", "--name", name, "--network", network, "--ip", ip,
			"-p", "127.0.0.1:" + port + ":2375"}, privileges...)
		args = append(append(args, image), dinvArgs...)
		run := harness.Client{}.Try(t, args...)
		if run.ExitCode == 0 {
			break
		}
		harness.Client{}.Try(t, "rm", "-f", "-v", name)
		if try == 3 || !strings.Contains(run.Stderr, "already") {
			t.Fatalf("start the container: %s", run)
		}
	}
	defer harness.Client{}.Try(t, "rm", "-f", "-v", name)
	start := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), harness.ReadyTimeout)
	defer cancel()
	type answer struct {
		res harness.Result
		err error
		at  time.Duration
	}
	done := make(chan answer, 1)
	go func() {
		res, err := harness.Client{Host: "tcp://127.0.0.1:" + port}.Exec(ctx, nil, "version", "--format", "{{.Server.Version}}")
		done <- answer{res, err, time.Since(start)}
	}()
	var c firstCallOutcome
	var a answer
	for got := false; !got; {
		if c.bound == 0 {
			if conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "2375"), time.Second); err == nil {
				c.bound = time.Since(start)
				conn.Close()
			}
		}
		wait := time.After(time.Millisecond)
		if c.bound != 0 {
			wait = nil // seen: only the answer is awaited
		}
		select {
		case a = <-done:
			got = true
		case <-wait:
		}
	}
	c.ended = a.at
	switch {
	case a.err != nil:
		c.err = a.err.Error()
	case a.res.ExitCode != 0:
		s := strings.TrimSpace(a.res.Stderr)
		c.err = s[strings.LastIndex(s, "\n")+1:]
	case strings.TrimSpace(a.res.Stdout) == "":
		c.err = "no server version"
	default:
		if c.ended > slowAnswer {
			t.Logf("%s (%s): the first call was answered after %s\nlog of the container:\n%s",
				name, image, roundMs(c.ended), harness.Client{}.Try(t, "logs", "-t", name).Stderr)
		}
		return c
	}
	// The ports change every call.
	c.err = strings.ReplaceAll(clientPort.ReplaceAllString(c.err, "127.0.0.1:*->"), "127.0.0.1:"+port, "127.0.0.1:PORT")
	if len(dinvArgs) == 0 {
		t.Logf("%s (%s): the first call failed after %s: %s\nlog of the container:\n%s",
			name, image, roundMs(c.ended), c.err, harness.Client{}.Try(t, "logs", name).Stderr)
	}
	return c
}
