package ready

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// pingRequest is GET /_ping as the docker CLI sends it, on a connection of its
// own. Written by hand: net/http (and crypto/tls with it) would be most of
// dinv's binary and resident memory, for one request (make bench).
const pingRequest = "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"

// Ping asks the engine on the unix socket for GET /_ping and returns nil when
// it answers 200. Used by the ready stage and by `dinv -healthcheck`.
func Ping(ctx context.Context, socket string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return errors.Wrapf(err, "ping %s", socket)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, pingRequest); err != nil {
		return errors.Wrapf(err, "ping %s", socket)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return errors.Wrapf(err, "ping %s: read the answer", socket)
	}
	// "HTTP/1.1 200 OK"
	_, status, _ := strings.Cut(strings.TrimSpace(line), " ")
	if status != "200" && !strings.HasPrefix(status, "200 ") {
		return errors.Errorf("ping %s: %s", socket, status)
	}
	return nil
}
