package ready

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// pollEvery is the pause between two pings while the engine starts.
const pollEvery = 5 * time.Millisecond

// pingTimeout bounds one ping, for an engine that accepts but does not answer.
const pingTimeout = 2 * time.Second

// Clock is the time as the ready stage sees it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// readyStage waits for the engine to answer, records when (State.ReadyAt)
// and says how to connect.
type readyStage struct {
	ping  func(ctx context.Context, socket string) error
	clock Clock
	every time.Duration
}

// New returns the ready stage.
func New() core.Stage {
	return &readyStage{ping: Ping, clock: realClock{}, every: pollEvery}
}

func (*readyStage) Name() string                   { return "ready" }
func (*readyStage) SkipsDryRun()                   {}
func (*readyStage) Requires(*core.Config) []string { return []string{"engine"} }

func (r *readyStage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	if s.Engine == nil {
		return errors.New("wait for the engine: none is running")
	}
	err := WaitReady(ctx, r.ping, r.clock, r.every, s.Config.Socket, s.Config.ReadyTimeout, s.Engine)
	if errors.Is(err, errNotReady) {
		log.Warn("the engine does not answer yet; still supervising it",
			"socket", s.Config.Socket, "waited", s.Config.ReadyTimeout, "last_error", errors.Cause(err).Error())
		return nil
	}
	if err != nil {
		return err
	}
	s.ReadyAt = r.clock.Now()
	after := s.ReadyAt.Sub(s.Started).Round(time.Millisecond)
	log.Info("engine ready", append([]interface{}{"after", after}, Connect(s)...)...)
	if w := PlainWarning(&s.Config); w != "" {
		log.Warn(w, "port", s.Config.Port)
	}
	return nil
}

// errNotReady is WaitReady's answer when the timeout passed first.
var errNotReady = errors.New("no answer before the ready timeout")

// WaitReady pings socket every interval until the engine answers (nil), the
// engine exits (an error with its status and last error line), timeout
// passes (an error that Is errNotReady) or ctx ends.
func WaitReady(ctx context.Context, ping func(context.Context, string) error, clock Clock,
	every time.Duration, socket string, timeout time.Duration, eng core.Engine) error {
	deadline := clock.After(timeout)
	var last error
	for {
		select {
		case <-eng.Done():
			return exitedError(eng)
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := ping(pctx, socket)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-eng.Done():
			return exitedError(eng)
		case <-deadline:
			return &notReady{last: last}
		case <-ctx.Done():
			return errors.Wrap(ctx.Err(), "wait for the engine")
		case <-clock.After(every):
		}
	}
}

type notReady struct{ last error }

func (e *notReady) Error() string        { return errNotReady.Error() + ": " + e.last.Error() }
func (e *notReady) Is(target error) bool { return target == errNotReady }
func (e *notReady) Cause() error         { return e.last }

// exitedError says that the engine died before answering, and why.
func exitedError(eng core.Engine) error {
	msg := eng.Reason() + " before answering"
	if le, ok := eng.(interface{ LastError() string }); ok && le.LastError() != "" {
		return errors.Errorf("%s: %s", msg, le.LastError())
	}
	return errors.New(msg)
}

// Connect returns the key/value pairs of the ready line that tell a user how
// to reach the engine: DOCKER_HOST, and with TLS the files to copy out of the
// container and the client's environment.
func Connect(s *core.State) []interface{} {
	c := &s.Config
	if !c.ServesTCP() {
		return []interface{}{"DOCKER_HOST", "unix://" + c.Socket}
	}
	host := "<container-ip>"
	if s.ContainerIP != nil {
		host = s.ContainerIP.String()
	}
	kv := []interface{}{"DOCKER_HOST", "tcp://" + net.JoinHostPort(host, strconv.Itoa(c.Port))}
	if !c.UsesTLS() {
		return kv
	}
	// With -tls the server certificate may be self-signed: the client trusts
	// it directly (a leaf in the trusted set verifies in Go's TLS).
	ca := s.TLSFiles.ServerCert
	if ca == "" {
		ca = filepath.Join(c.CertDir, "docker.crt")
	}
	if c.TLSVerify {
		ca = s.TLSFiles.CACert
		if ca == "" {
			ca = filepath.Join(c.CertDir, "ca.crt")
		}
	}
	copyOut := fmt.Sprintf("docker cp <container>:%s ca.pem", ca)
	if c.TLSVerify {
		copyOut += fmt.Sprintf("; docker cp <container>:%s cert.pem; docker cp <container>:%s key.pem",
			filepath.Join(c.CertDir, "docker-client.crt"), filepath.Join(c.CertDir, "docker-client.key"))
	}
	return append(kv, "copy", copyOut, "env", "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir of the copies>")
}

// PlainWarning is the warning for an API served on TCP without TLS, or "".
func PlainWarning(c *core.Config) string {
	if !c.ServesTCP() || c.UsesTLS() {
		return ""
	}
	return "the API is served on TCP without TLS: anyone who can reach this port is root on the host; start with -tlsverify to require client certificates"
}
