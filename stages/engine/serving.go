package engine

import (
	"context"
	"net"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/reaper"
)

// servingPoll is the pause between two tries to connect to a socket a
// process is about to serve.
const servingPoll = 5 * time.Millisecond

// waitServing waits until p accepts a connection on the unix socket path:
// the process listens, and a client of it is served from now on. It fails
// when p exits first, when wait passes (0: no limit), or when ctx ends (its
// cause). A socket file left by an earlier run refuses connections until p
// replaces it.
func waitServing(ctx context.Context, p reaper.Proc, path string, wait time.Duration) error {
	var limit <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		limit = t.C
	}
	tick := time.NewTicker(servingPoll)
	defer tick.Stop()
	d := net.Dialer{Timeout: time.Second}
	for {
		c, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.Done():
			return errors.Errorf("exited (%s) before serving on %s", p.Status(), path)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-limit:
			return errors.Errorf("not serving on %s after %s (last try: %v)", path, wait, err)
		case <-tick.C:
		}
	}
}
