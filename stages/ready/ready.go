package ready

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
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

// readyStage waits for the engine to answer, records when (State.ReadyAt)
// and how clients reach it (the client information at infoPath), and says
// how to connect.
type readyStage struct {
	ping     func(ctx context.Context, socket string) error
	clock    core.Clock
	every    time.Duration
	infoPath string // ClientInfoPath
}

// New returns the ready stage.
func New() core.Stage {
	return &readyStage{ping: Ping, clock: core.RealClock{}, every: pollEvery, infoPath: ClientInfoPath}
}

func (*readyStage) Name() string                   { return "ready" }
func (*readyStage) SkipsDryRun()                   {}
func (*readyStage) Requires(*core.Config) []string { return []string{"engine"} }

func (r *readyStage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	if s.Engine == nil {
		return errors.New("wait for the engine: none is running")
	}
	// A previous run's client information names what may be gone: until
	// this engine answers, there is none. (The stage is skipped under
	// -dry-run; should it run, it writes nothing.)
	record := !s.Config.DryRun
	if record {
		if err := os.Remove(r.infoPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot remove the previous run's client information", "file", r.infoPath, "error", err)
		}
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
	if !record {
		return nil
	}
	if err := WriteClientInfo(r.infoPath, clientInfo(s)); err != nil {
		log.Warn("cannot record how clients reach the engine; -client-bundle will not find it", "error", err)
	} else {
		log.Debug("client information recorded", "file", r.infoPath)
	}
	return nil
}

// errNotReady is WaitReady's answer when the timeout passed first.
var errNotReady = errors.New("no answer before the ready timeout")

// WaitReady pings socket every interval until the engine answers (nil), the
// engine exits (an error with its status and last error line), timeout
// passes (an error that Is errNotReady) or ctx ends.
func WaitReady(ctx context.Context, ping func(context.Context, string) error, clock core.Clock,
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
// container that exist for the mode in use (State.TLSFiles, from pki) and the
// client's environment.
func Connect(s *core.State) []interface{} {
	c := &s.Config
	if !c.ServesTCP() {
		return []interface{}{"DOCKER_HOST", "unix://" + c.Socket}
	}
	kv := []interface{}{"DOCKER_HOST", dockerHost(s)}
	if !c.UsesTLS() {
		return kv
	}
	f := s.TLSFiles
	env := "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir of the copies>"
	switch {
	case f.ServerCert == "":
		// pki did not run (dropped from the stage list): no file is known.
		return append(kv, "env", "DOCKER_TLS_VERIFY=1")
	case !c.TLSVerify:
		// With -tls the server certificate may be self-signed: the client
		// trusts it directly (a leaf in the trusted set verifies in Go's TLS).
		return append(kv, "copy", "docker cp <container>:"+f.ServerCert+" ca.pem", "env", env)
	case f.ClientCert == "":
		// The user's certificates, without a client pair: none to name.
		return append(kv, "copy", "docker cp <container>:"+f.CACert+" ca.pem",
			"clients", "need their own cert.pem and key.pem, signed by the CA in "+f.CACert+": dinv made no client certificate",
			"env", env)
	}
	if dir := bundleDir(f); dir != "" {
		// docker:dind's client/: the docker CLI's names already.
		return append(kv, "copy", "docker cp <container>:"+dir+"/. <dir>",
			"env", "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir> (or "+dir+" where that directory is shared)")
	}
	copyOut := fmt.Sprintf("docker cp <container>:%s ca.pem; docker cp <container>:%s cert.pem; docker cp <container>:%s key.pem",
		f.ClientCA, f.ClientCert, f.ClientKey)
	return append(kv, "copy", copyOut, "env", env)
}

// dockerHost is DOCKER_HOST for a client outside the container, on TCP.
func dockerHost(s *core.State) string {
	host := "<container-ip>"
	if s.ContainerIP != nil {
		host = s.ContainerIP.String()
	}
	return "tcp://" + net.JoinHostPort(host, strconv.Itoa(s.Config.Port))
}

// bundleDir is the directory of the client bundle when it holds it under
// the docker CLI's names (ca.pem, cert.pem, key.pem), as docker:dind's
// client/ does: DOCKER_CERT_PATH can be that directory. "" otherwise.
func bundleDir(f core.TLSFiles) string {
	dir := filepath.Dir(f.ClientCert)
	if f.ClientCA != filepath.Join(dir, "ca.pem") || f.ClientCert != filepath.Join(dir, "cert.pem") || f.ClientKey != filepath.Join(dir, "key.pem") {
		return ""
	}
	return dir
}

// PlainWarning is the warning for an API served on TCP without TLS, or "".
func PlainWarning(c *core.Config) string {
	if !c.ServesTCP() || c.UsesTLS() {
		return ""
	}
	return "the API is served on TCP without TLS: anyone who can reach this port is root on the host; start with -tlsverify to require client certificates"
}
