// Package clientinfo is how a running DinV host tells its clients how to
// reach it: the ready stage records it (client.json) once the engine
// answers, and `dinv -healthcheck` and `dinv -client-bundle` read it in the
// running container, so that they serve what the engine serves.
package clientinfo

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/safefile"
)

// Path is where the ready stage records the client information. Not
// written under -dry-run, nor before the engine answers.
const Path = "/run/dinv/client.json"

// maxBytes bounds what Read reads.
const maxBytes = 64 << 10

// Info is what client.json holds: the engine's address for clients outside
// the container, its unix socket, and, when the engine verifies clients,
// the client bundle's files (core.TLSFiles' ClientCA, ClientCert,
// ClientKey; empty when the host has none).
type Info struct {
	DockerHost string `json:"DOCKER_HOST"`
	Socket     string `json:"socket"`     // the engine's unix socket: what the health check asks
	TLSVerify  bool   `json:"tls_verify"` // the engine verifies client certificates
	CA         string `json:"ca,omitempty"`
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
}

// Write writes info to path whole, mode 0600, never through a link planted
// there (internal/safefile); the directory is made when missing.
func Write(path string, info Info) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return errors.Wrap(err, "encode client information")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return errors.Wrap(err, "create client information directory")
	}
	return errors.Wrap(safefile.WriteFile(path, append(data, '\n'), 0o600), "write client information")
}

// Read reads what Write wrote at path: a regular file, not through a link,
// at most 64 KiB, naming DOCKER_HOST.
func Read(path string) (*Info, error) {
	data, err := safefile.ReadFile(path, maxBytes)
	var se *safefile.SizeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.Errorf("%s: missing: the engine has not answered yet, or this is not a running DinV host", path)
	case errors.As(err, &se):
		return nil, errors.Errorf("%s: larger than %d KiB: not dinv's", path, maxBytes>>10)
	case err != nil:
		return nil, errors.Wrap(err, "read client information")
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, errors.Wrapf(err, "%s: not dinv's client information", path)
	}
	if info.DockerHost == "" {
		return nil, errors.Errorf("%s: no DOCKER_HOST in it: not dinv's client information", path)
	}
	return &info, nil
}
