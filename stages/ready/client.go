package ready

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/stages/pki"
)

// ClientInfoPath is where the ready stage records, once the engine answers,
// how clients reach it: what `dinv -client-bundle` reads in the running
// container. Not written under -dry-run, nor before the engine answers.
const ClientInfoPath = "/run/dinv/client.json"

// maxClientInfoBytes bounds what ReadClientInfo reads.
const maxClientInfoBytes = 64 << 10

// ClientInfo is what client.json holds: the engine's address for clients
// outside the container and, when the engine verifies them, the client
// bundle's files (core.TLSFiles' ClientCA, ClientCert, ClientKey; empty when
// the host has none).
type ClientInfo struct {
	DockerHost string `json:"DOCKER_HOST"`
	Socket     string `json:"socket"`     // the engine's unix socket: what the health check asks
	TLSVerify  bool   `json:"tls_verify"` // the engine verifies client certificates
	CA         string `json:"ca,omitempty"`
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
}

// clientInfo is the ClientInfo of the host s describes.
func clientInfo(s *core.State) ClientInfo {
	c := &s.Config
	if !c.ServesTCP() {
		return ClientInfo{DockerHost: "unix://" + c.Engine.Socket(), Socket: c.Engine.Socket()}
	}
	info := ClientInfo{DockerHost: dockerHost(s), Socket: c.Engine.Socket(), TLSVerify: c.Verifies()}
	if info.TLSVerify {
		info.CA, info.Cert, info.Key = s.TLSFiles.ClientCA, s.TLSFiles.ClientCert, s.TLSFiles.ClientKey
	}
	return info
}

// files is the client bundle as pki names it.
func (i *ClientInfo) files() core.TLSFiles {
	return core.TLSFiles{ClientCA: i.CA, ClientCert: i.Cert, ClientKey: i.Key}
}

// WriteClientInfo writes info to path whole, mode 0600: a new temp file
// beside it (O_EXCL: never through a link planted there), synced, renamed
// into place. The directory is made when missing.
func WriteClientInfo(path string, info ClientInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return errors.Wrap(err, "encode client information")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "create client information directory")
	}
	t, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return errors.Wrap(err, "create client information")
	}
	fail := func(err error, op string) error {
		t.Close()
		os.Remove(t.Name())
		return errors.Wrapf(err, "%s %s", op, t.Name())
	}
	if err := t.Chmod(0o600); err != nil {
		return fail(err, "chmod")
	}
	if _, err := t.Write(append(data, '\n')); err != nil {
		return fail(err, "write")
	}
	if err := t.Sync(); err != nil {
		return fail(err, "sync")
	}
	if err := t.Close(); err != nil {
		return fail(err, "close")
	}
	if err := os.Rename(t.Name(), path); err != nil {
		os.Remove(t.Name())
		return errors.Wrapf(err, "rename client information into %s", path)
	}
	return nil
}

// ReadClientInfo reads what WriteClientInfo wrote at path: a regular file,
// not through a link, at most 64 KiB, naming DOCKER_HOST.
func ReadClientInfo(path string) (*ClientInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.Errorf("%s: missing: the engine has not answered yet, or this is not a running DinV host", path)
	}
	if err != nil {
		return nil, errors.Wrap(err, "read client information")
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxClientInfoBytes+1))
	if err != nil {
		return nil, errors.Wrapf(err, "read %s", path)
	}
	if len(data) > maxClientInfoBytes {
		return nil, errors.Errorf("%s: larger than %d KiB: not dinv's", path, maxClientInfoBytes>>10)
	}
	var info ClientInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, errors.Wrapf(err, "%s: not dinv's client information", path)
	}
	if info.DockerHost == "" {
		return nil, errors.Errorf("%s: no DOCKER_HOST in it: not dinv's client information", path)
	}
	return &info, nil
}

// ClientBundle is `dinv -client-bundle`: it writes to stdout a tar of the
// running host's client bundle (ca.pem, cert.pem, key.pem, as
// pki.WriteClientBundle writes it), read from the client information at
// infoPath (ClientInfoPath), and prints to stderr the environment that uses
// it once extracted (docker exec C /dinv -client-bundle | tar -x -C DIR).
// Without a client bundle it writes nothing to stdout and says why.
func ClientBundle(stdout, stderr io.Writer, infoPath string) error {
	info, err := ReadClientInfo(infoPath)
	if err != nil {
		return err
	}
	if !info.TLSVerify {
		return errors.Errorf("the engine at %s does not verify client certificates (no -tlsverify, no DOCKER_TLS_CERTDIR): "+
			"it has no client bundle", info.DockerHost)
	}
	if err := pki.WriteClientBundle(stdout, info.files()); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stderr, "# ca.pem, cert.pem and key.pem, for the docker CLI; once extracted with tar -x -C DIR:\n"+
		"export DOCKER_HOST=%s\nexport DOCKER_TLS_VERIFY=1\nexport DOCKER_CERT_PATH=DIR\n", info.DockerHost)
	return errors.Wrap(err, "print the environment")
}
