package engine

import (
	"context"
	"net"
	"net/http"
	"net/url"

	"github.com/pkg/errors"
)

// Ping asks the engine on the unix socket for GET /_ping and returns nil when
// it answers 200. Used by the ready stage and by `dinv -healthcheck`.
func Ping(ctx context.Context, socket string) error {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return errors.Wrap(err, "build ping request")
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return errors.Wrapf(err, "ping %s", socket)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.Errorf("ping %s: %s", socket, resp.Status)
	}
	return nil
}
