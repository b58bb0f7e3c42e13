package swarm

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// tokenDigest returns the root CA digest of a swarm join token, and false
// when tok is not one: SWMTKN-1-<the root CA's SHA-256 in base 36, 50
// digits>-<the secret in base 36, 25 digits>, with a suffix on FIPS swarms.
func tokenDigest(tok string) (string, bool) {
	parts := strings.Split(tok, "-")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "SWMTKN" || parts[1] != "1" ||
		!base36(parts[2], 50) || !base36(parts[3], 25) || len(parts) == 5 && !isName(parts[4]) {
		return "", false
	}
	return parts[2], true
}

// base36 reports whether s is n digits of base 36, in lower case.
func base36(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// maxTokenFile bounds what is read of a token file.
const maxTokenFile = 4096

// checkToken says whether tok looks like a join token, without quoting it.
func checkToken(tok string) error {
	if _, ok := tokenDigest(tok); !ok {
		return errorf("not a swarm join token (SWMTKN-1-..., as docker swarm join-token -q prints it)")
	}
	return nil
}

// sameSwarm reports whether tok was issued by the swarm whose root CA
// certificate (PEM, as the engine keeps and serves it) is rootCA: the
// token carries the CA's digest.
func sameSwarm(tok core.Secret, rootCA []byte) bool {
	d, ok := tokenDigest(tok.Value())
	return ok && d == caDigest(rootCA)
}

// caDigest is the root CA's digest as a join token spells it.
func caDigest(rootCA []byte) string {
	sum := sha256.Sum256(rootCA)
	d := new(big.Int).SetBytes(sum[:]).Text(36)
	return strings.Repeat("0", 50-len(d)) + d
}

// errNoToken is readToken's answer for a file that is not there (yet), or empty.
var errNoToken = errors.New("no token yet")

// readToken reads a join token from path: errNoToken when the file is
// missing or empty, an error naming the file (never its content) when it
// holds anything but one token. nofollow refuses a symbolic link (the
// shared directory dinv writes itself).
func readToken(path string, nofollow bool) (core.Secret, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if err == unix.ENOENT {
		return "", errNoToken
	}
	if err != nil {
		return "", errors.Wrapf(&os.PathError{Op: "open", Path: path, Err: err}, "read the join token")
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", errors.Errorf("read the join token: %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", errors.Wrapf(err, "read the join token %s", path)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errNoToken
	}
	if len(b) > maxTokenFile || checkToken(tok) != nil {
		return "", errors.Errorf("%s: not a swarm join token (SWMTKN-1-..., as docker swarm join-token -q prints it)", path)
	}
	return core.Secret(tok), nil
}

// tempPrefix starts the name of a token file being written; the writer
// removes those a killed run left behind.
const tempPrefix = ".dinv-tmp-"

// writeTokens writes the manager and worker tokens into dir (made 0700, with
// its parents, when missing; made 0700 when it was there) as manager.token and worker.token, mode 0600, each atomically: a
// new temporary file (O_EXCL, O_NOFOLLOW) renamed over the old one, inside a
// directory opened without following a link, so that nothing a link points
// to is written. A file that already holds its token is left alone. It
// reports which files it wrote.
func writeTokens(dir string, tokens map[string]core.Secret) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errors.Wrap(err, "write the join tokens")
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errors.Wrapf(&os.PathError{Op: "open", Path: dir, Err: err}, "write the join tokens (not a directory, or a link?)")
	}
	d := os.NewFile(uintptr(dfd), dir)
	defer d.Close()
	// A directory that was there keeps no wider mode: the tokens are root
	// on the swarm.
	if err := unix.Fchmod(dfd, 0o700); err != nil {
		return nil, errors.Wrapf(&os.PathError{Op: "chmod", Path: dir, Err: err}, "write the join tokens")
	}
	removeTemps(d)
	var wrote []string
	for _, role := range []string{"manager", "worker"} {
		name := role + ".token"
		data := []byte(tokens[role].Value() + "\n")
		if holds(dfd, name, data) {
			continue
		}
		if err := writeAt(dfd, name, data); err != nil {
			return wrote, errors.Wrapf(err, "write the join token %s", filepath.Join(dir, name))
		}
		wrote = append(wrote, filepath.Join(dir, name))
	}
	if len(wrote) > 0 {
		if err := unix.Fsync(dfd); err != nil {
			return wrote, errors.Wrapf(err, "write the join tokens: sync %s", dir)
		}
	}
	return wrote, nil
}

// holds reports whether dir's regular file name already holds data, mode 0600.
func holds(dfd int, name string, data []byte) bool {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		return false
	}
	have, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	return err == nil && bytes.Equal(have, data)
}

// writeAt writes data to name in the directory dfd, whole or not at all.
func writeAt(dfd int, name string, data []byte) error {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := tempPrefix + name + "-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	err = func() error {
		if err := f.Chmod(0o600); err != nil { // whatever the umask
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		// The temporary file holds a secret: it must not stay. Its removal
		// failing leaves it 0600, and the next writer removes it.
		_ = unix.Unlinkat(dfd, tmp, 0)
	}
	return err
}

// removeTemps removes the temporary files a killed writer left in d. What
// cannot be listed or removed stays, 0600, for the next writer: it is never
// read as a token.
func removeTemps(d *os.File) {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return
	}
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix) {
			_ = unix.Unlinkat(int(d.Fd()), n, 0)
		}
	}
}
