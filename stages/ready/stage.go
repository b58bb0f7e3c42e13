// Package ready is the ready stage: once the engine runs, it waits for the
// engine to answer on its unix socket (waitReady), says after how long and
// how to connect, warns about TCP listeners that take clients without
// certificates, links the docker CLI's default socket to the engine's, and
// records how clients reach the engine (internal/clientinfo, what
// `dinv -client-bundle` and the health check read). It fills no State field;
// -dry-run skips it.
package ready

import (
	"context"
	"io/fs"
	"os"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/clientinfo"
	"github.com/dinv/dinv/internal/engineapi"
)

type stage struct {
	ping     func(ctx context.Context, socket string) error
	clock    core.Clock
	every    time.Duration
	infoPath string // clientinfo.Path
	// cliSocket is where the docker CLI looks for the engine: a link to
	// the engine's socket when that is another (defaultSocket).
	cliSocket string
}

// New returns the ready stage.
func New() core.Stage {
	return &stage{ping: ping, clock: core.RealClock{}, every: pollEvery, infoPath: clientinfo.Path, cliSocket: defaultSocket}
}

func (*stage) Name() string                   { return "ready" }
func (*stage) SkipsDryRun()                   {}
func (*stage) Phase() core.Phase              { return core.Running }
func (*stage) Requires(*core.Config) []string { return []string{"engine"} }

func (r *stage) Run(ctx context.Context, s *core.State) error {
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
	socket := s.Config.Engine.Socket()
	err := waitReady(ctx, r.ping, r.clock, r.every, socket, s.Config.ReadyTimeout, s.Engine)
	if errors.Is(err, errNotReady) {
		log.Warn("the engine does not answer yet; still supervising it",
			"socket", socket, "waited", s.Config.ReadyTimeout, "last_error", errors.Cause(err).Error())
		return nil
	}
	if err != nil {
		return err
	}
	after := r.clock.Now().Sub(s.Started).Round(time.Millisecond)
	log.Info("engine ready", append([]interface{}{"after", after}, connect(s)...)...)
	for _, l := range unverified(&s.Config) {
		log.Warn("the API is served on TCP without client certificates: anyone who can reach this address is root on the host; start with -tlsverify to require them",
			"listener", l.URL(), "tls", s.Config.Engine.TLS.Value.String())
	}
	if !record {
		return nil
	}
	if err := linkSocket(r.cliSocket, socket); err != nil {
		log.Debug("the docker CLI's default socket is another's: not linked to the engine's", "socket", socket, "error", err)
	}
	if err := clientinfo.Write(r.infoPath, clientInfo(s)); err != nil {
		log.Warn("cannot record how clients reach the engine; -client-bundle will not find it", "error", err)
	} else {
		log.Debug("client information recorded", "file", r.infoPath)
	}
	return nil
}

// ping asks the engine on socket for GET /_ping.
func ping(ctx context.Context, socket string) error {
	return (&engineapi.Client{Socket: socket}).Ping(ctx)
}
