package ready

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/clientinfo"
)

// pollEvery is the pause between two pings while the engine starts.
const pollEvery = 5 * time.Millisecond

// pingTimeout bounds one ping, for an engine that accepts but does not answer.
const pingTimeout = 2 * time.Second

// errNotReady is waitReady's answer when the timeout passed first.
var errNotReady = errors.New("no answer before the ready timeout")

// waitReady pings socket every interval until the engine answers (nil), the
// engine exits (an error with its status and last error line), timeout
// passes (an error that Is errNotReady) or ctx ends.
func waitReady(ctx context.Context, ping func(context.Context, string) error, clock core.Clock,
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

// connect returns the key/value pairs of the ready line that tell a user how
// to reach the engine: DOCKER_HOST, and with TLS the files to copy out of the
// container that exist for the mode in use (State.TLSFiles, from pki) and the
// client's environment.
func connect(s *core.State) []interface{} {
	c := &s.Config
	if !c.ServesTCP() {
		return []interface{}{"DOCKER_HOST", "unix://" + c.Engine.Socket()}
	}
	kv := []interface{}{"DOCKER_HOST", dockerHost(s)}
	if tcp := c.Engine.TCP(); len(tcp) > 1 {
		var more []string
		for _, l := range tcp[1:] {
			more = append(more, l.URL())
		}
		kv = append(kv, "also", strings.Join(more, ","))
	}
	if !c.UsesTLS() {
		return kv
	}
	f := s.TLSFiles
	env := "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir of the copies>"
	switch {
	case f.ServerCert == "":
		// pki did not run (dropped from the stage list): no file is known.
		return append(kv, "env", "DOCKER_TLS_VERIFY=1")
	case !c.Verifies():
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

// dockerHost is DOCKER_HOST for a client of the engine's first TCP
// listener: the container's address for a listener on every interface,
// else the listener's own host (localhost: from inside the container).
func dockerHost(s *core.State) string {
	l := s.Config.Engine.TCP()[0]
	host, port, _ := net.SplitHostPort(l.Addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "<container-ip>"
		if s.ContainerIP != nil {
			host = s.ContainerIP.String()
		}
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// clientInfo is the client information of the host s describes.
func clientInfo(s *core.State) clientinfo.Info {
	c := &s.Config
	info := clientinfo.Info{DockerHost: "unix://" + c.Engine.Socket(), Socket: c.Engine.Socket()}
	if !c.ServesTCP() {
		return info
	}
	info.DockerHost, info.TLSVerify = dockerHost(s), c.Verifies()
	if info.TLSVerify {
		info.CA, info.Cert, info.Key = s.TLSFiles.ClientCA, s.TLSFiles.ClientCert, s.TLSFiles.ClientKey
	}
	return info
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

// unverified lists the TCP listeners that take clients without a
// certificate: every one unless the engine verifies clients.
func unverified(c *core.Config) []core.Listener {
	if c.Verifies() {
		return nil
	}
	return c.Engine.TCP()
}

// defaultSocket is where the docker CLI looks for the engine.
const defaultSocket = "/var/run/docker.sock"

// linkSocket makes cli, the docker CLI's default socket, a link to the
// engine's socket when that is another (-socket, or a unix socket the user
// names), so that `docker exec C docker ps` works; a socket or file of
// something else's there is left alone.
func linkSocket(cli, socket string) error {
	if socket == cli {
		return nil
	}
	fi, err := os.Lstat(cli)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink == 0:
		return errors.Errorf("%s exists and is not a link", cli)
	default:
		if err := os.Remove(cli); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(cli), 0o755); err != nil {
		return err
	}
	return os.Symlink(socket, cli)
}
