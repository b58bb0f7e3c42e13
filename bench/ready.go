package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// pollEvery is the pause between two GET /_ping tries.
const pollEvery = 5 * time.Millisecond

// waitReady polls GET /_ping on addr (host:port) until the engine answers 200
// and returns the moment it did. With certDir it speaks TLS with the client
// certificate found there (ca.crt, docker-client.crt, docker-client.key),
// reading the files as soon as they exist: on a cold start dinv writes them
// while the poll runs. Every contender is polled by this same loop.
// stopped is asked about once a second, after a few seconds, whether the
// container has exited, so a failed start does not wait for ctx.
func waitReady(ctx context.Context, addr, certDir string, stopped func() error) (time.Time, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	hc := &http.Client{Transport: tr, Timeout: time.Second}
	url := "http://" + addr + "/_ping"
	if certDir != "" {
		url = "https://" + addr + "/_ping"
	}
	start, checked := time.Now(), time.Now()
	var last error
	for {
		if certDir != "" && tr.TLSClientConfig == nil {
			tr.TLSClientConfig, last = clientTLS(certDir)
		}
		if certDir == "" || tr.TLSClientConfig != nil {
			if last = harness.Ping(ctx, hc, url); last == nil {
				return time.Now(), nil
			}
		}
		if time.Since(start) > 5*time.Second && time.Since(checked) > time.Second {
			checked = time.Now()
			if err := stopped(); err != nil {
				return time.Time{}, err
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("not ready: %v; last try: %v", ctx.Err(), last)
		case <-time.After(pollEvery):
		}
	}
}

// clientTLS is the TLS configuration of a docker client holding the client
// certificate in dir. The server's certificate is checked against ca.crt
// under the name localhost, which every server certificate dinv makes covers,
// so the container's address does not matter.
func clientTLS(dir string) (*tls.Config, error) {
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("ca.crt: no certificate")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "docker-client.crt"), filepath.Join(dir, "docker-client.key"))
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost", MinVersion: tls.VersionTLS12}, nil
}
