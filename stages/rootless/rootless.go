package rootless

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/host"
)

// rootlessUser is the unprivileged user the rootless engine runs as: the
// first user ID of a Debian system, and the 65536 subordinate IDs a rootless
// engine needs for the users of the images it runs.
var rootlessUser = struct {
	Name     string
	UID, GID int
	SubStart int
	SubCount int
	Home     string
	Runtime  string // XDG_RUNTIME_DIR
}{"rootless", 1000, 1000, 100000, 65536, "/home/rootless", "/run/user/1000"}

// rootlessWrapperDir holds the image's dockerd wrapper (images/rootless).
const rootlessWrapperDir = "/usr/local/lib/dinv/rootless"

// tunDevice is what slirp4netns makes the engine's network interface with.
const tunDevice = "/dev/net/tun"

// idMappers are the setuid helpers that write a user namespace's ID maps,
// with the capability each needs.
var idMappers = []struct {
	path string
	capa uint
}{{"/usr/bin/newuidmap", unix.CAP_SETUID}, {"/usr/bin/newgidmap", unix.CAP_SETGID}}

// prepareRootless makes the container ready for the rootless engine of cfg
// and returns the engine's environment: env (nil: dinv's own) with the
// user's HOME and XDG_RUNTIME_DIR, the API's TCP port for the wrapper
// (DINV_ROOTLESS_PORT, when TCP is served) and the wrapper first in PATH.
// Every step is idempotent; the run directory is made afresh, as a
// runtime directory is at each login: what a killed engine left there
// (socket, pid file, rootlesskit's state) is gone.
func prepareRootless(log hclog.Logger, sys host.System, cfg *core.Config, env []string) ([]string, error) {
	u := rootlessUser
	if !sys.IsDir(rootlessWrapperDir) {
		return nil, errors.Errorf("%s=1 but %s is missing: the rootless engine needs a dinv:<version>-rootless image",
			config.EnvRootless, rootlessWrapperDir)
	}
	sub := fmt.Sprintf("%s:%d:%d", u.Name, u.SubStart, u.SubCount)
	for _, e := range []struct {
		path, line string
		idField    int
	}{
		{"/etc/passwd", fmt.Sprintf("%s:x:%d:%d:DinV rootless engine:%s:/usr/sbin/nologin", u.Name, u.UID, u.GID, u.Home), 2},
		{"/etc/group", fmt.Sprintf("%s:x:%d:", u.Name, u.GID), 2},
		{"/etc/subuid", sub, -1},
		{"/etc/subgid", sub, -1},
	} {
		if err := ensureEntry(sys, e.path, u.Name, e.line, e.idField); err != nil {
			return nil, err
		}
	}
	if err := sys.RemoveAll(u.Runtime); err != nil {
		return nil, errors.Wrapf(err, "clear %s", u.Runtime)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{u.Runtime, 0o700}, {u.Home, 0o700}} {
		if err := ownDir(sys, d.path, d.mode, u.UID, u.GID); err != nil {
			return nil, err
		}
	}
	for _, m := range idMappers {
		if err := fileCapability(log, sys, m.path, m.capa); err != nil {
			return nil, err
		}
	}
	// Docker gives the container the machine's node with the machine's
	// mode; 0600 there (as here) keeps the user from it.
	if err := sys.Chmod(tunDevice, 0o666); err != nil {
		return nil, errors.Wrapf(err, "let the rootless user open %s", tunDevice)
	}
	for _, l := range []struct{ link, target string }{
		{cfg.Engine.Socket(), filepath.Join(u.Runtime, "docker.sock")},
		{cfg.Engine.Pidfile.Value, filepath.Join(u.Runtime, "docker.pid")},
	} {
		if err := replaceLink(sys, l.target, l.link); err != nil {
			return nil, err
		}
	}
	if env == nil {
		env = os.Environ()
	}
	add := []string{"HOME=" + u.Home, "XDG_RUNTIME_DIR=" + u.Runtime, "USER=" + u.Name,
		"DINV_ROOTLESS_UID=" + strconv.Itoa(u.UID), "DINV_ROOTLESS_GID=" + strconv.Itoa(u.GID)}
	if tcp := cfg.Engine.TCP(); len(tcp) > 0 {
		_, port, _ := net.SplitHostPort(tcp[0].Addr)
		add = append(add, "DINV_ROOTLESS_PORT="+port)
	}
	env = host.PrependPath(setEnv(env, add), rootlessWrapperDir)
	log.Info("rootless engine prepared: it runs as an unprivileged user in a user namespace of its own",
		"user", u.Name, "uid", u.UID, "subuids", fmt.Sprintf("%d-%d", u.SubStart, u.SubStart+u.SubCount-1),
		"run_dir", u.Runtime)
	return env, nil
}

// setEnv returns env with each KEY=VALUE of kvs set, replacing KEY's earlier value.
func setEnv(env, kvs []string) []string {
	out := make([]string, 0, len(env)+len(kvs))
	for _, e := range env {
		key, _, _ := strings.Cut(e, "=")
		keep := true
		for _, kv := range kvs {
			if k, _, _ := strings.Cut(kv, "="); k == key {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return append(out, kvs...)
}

// ensureEntry makes sure the colon-separated file (passwd, group, subuid)
// has an entry for name: it appends line when there is none. With idField
// >= 0, that field is the entry's ID: an entry of name with another ID, or
// an entry of another name with this ID, is an error naming the file.
func ensureEntry(sys host.System, path, name, line string, idField int) error {
	data, err := sys.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Wrapf(err, "read %s", path)
	}
	id := ""
	if idField >= 0 {
		id = strings.Split(line, ":")[idField]
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		has := idField >= 0 && len(f) > idField && f[idField] == id
		switch {
		case f[0] == name && (idField < 0 || has):
			return nil
		case f[0] == name:
			return errors.Errorf("%s: %q has another ID than the rootless engine's (%s)", path, l, id)
		case has:
			return errors.Errorf("%s: the rootless engine's ID %s belongs to %q", path, id, f[0])
		}
	}
	out := string(data)
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	if err := sys.WriteFile(path, []byte(out+line+"\n")); err != nil {
		return errors.Wrapf(err, "add %s to %s", name, path)
	}
	return nil
}

// ownDir makes path a directory of mode owned by uid:gid.
func ownDir(sys host.System, path string, mode os.FileMode, uid, gid int) error {
	if err := sys.MkdirAll(path); err != nil {
		return errors.Wrapf(err, "create %s", path)
	}
	if err := sys.Chown(path, uid, gid); err != nil {
		return errors.Wrapf(err, "give %s to the rootless user", path)
	}
	return errors.Wrapf(sys.Chmod(path, mode), "set the mode of %s", path)
}

// replaceLink makes link a symbolic link to target, replacing a file or
// link there (never a directory).
func replaceLink(sys host.System, target, link string) error {
	if err := sys.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Wrapf(err, "replace %s with a link to %s", link, target)
	}
	return errors.Wrapf(sys.Symlink(target, link), "link %s to %s", link, target)
}

// vfsCapRevision2 and vfsCapEffective are the header of a version 2
// security.capability attribute (linux/capability.h).
const (
	vfsCapRevision2 = 0x02000000
	vfsCapEffective = 0x000001
)

// capXattr is the security.capability value that gives a program the
// capability c, permitted and effective, when it runs (setcap c=ep).
func capXattr(c uint) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], vfsCapRevision2|vfsCapEffective)
	binary.LittleEndian.PutUint32(b[4:], uint32(1)<<(c%32)) // permitted, low word
	// inheritable and the high words stay 0
	return b
}

// fileCapability makes the ID-mapping helper at path run with the one
// capability it needs instead of as root. As setuid root it runs with
// effective user 0, which is not the owner of the user namespace it writes
// the map of; the kernel then wants CAP_SYS_ADMIN for the write ("write to
// uid_map failed: Operation not permitted"), which a container has only when
// it is given it. With the capability as a file capability it runs as the
// user who made the namespace, and owns it: CAP_SETUID (CAP_SETGID) is all
// it needs. Debian installs the helpers setuid; Fedora as here.
func fileCapability(log hclog.Logger, sys host.System, path string, c uint) error {
	mode, err := sys.Lstat(path)
	if err != nil {
		return errors.Wrapf(err, "the rootless engine needs %s (Debian's uidmap)", path)
	}
	want := capXattr(c)
	got, err := sys.Getxattr(path, "security.capability")
	if err == nil && string(got) == string(want) && mode&os.ModeSetuid == 0 {
		return nil
	}
	if err := sys.Chmod(path, 0o755); err != nil { // clears the setuid bit
		return errors.Wrapf(err, "clear the setuid bit of %s", path)
	}
	if err := sys.Setxattr(path, "security.capability", want); err != nil {
		return errors.Wrapf(err, "give %s a file capability", path)
	}
	log.Debug("ID-mapping helper runs with a file capability instead of setuid root", "path", path, "capability", c)
	return nil
}
