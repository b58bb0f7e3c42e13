package stale

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

// removeStale removes the engine's pid file, docker*.pid in its directory
// and in the exec root, and in <exec root>/containerd the containerd pid
// files and socket, each only when the process it names is gone
// (host.System.Alive: no such process, or one that is not an engine; a file
// naming no number counts as gone); the socket goes when containerd's pid
// file there did. A live engine's files, beside which dinv may run on an
// ordinary host, are never touched.
func removeStale(log hclog.Logger, sys host.System, pidfile, execRoot string) error {
	set := map[string]bool{}
	if pidfile != "" {
		set[pidfile] = true
	}
	for _, dir := range []string{filepath.Dir(pidfile), execRoot} {
		if dir == "" || dir == "." {
			continue
		}
		matches, err := sys.Glob(filepath.Join(dir, "docker*.pid"))
		if err != nil { // a malformed pattern: dir holds [ or \
			return errors.Wrapf(err, "list pid files in %s", dir)
		}
		for _, m := range matches {
			set[m] = true
		}
	}
	files := make([]string, 0, len(set))
	for f := range set {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		if _, err := removeIfStale(log, sys, f); err != nil {
			return err
		}
	}
	if execRoot == "" {
		return nil
	}
	cdir := filepath.Join(execRoot, "containerd")
	gone := false
	for _, name := range []string{"containerd.pid", "docker-containerd.pid"} {
		removed, err := removeIfStale(log, sys, filepath.Join(cdir, name))
		if err != nil {
			return err
		}
		gone = gone || removed
	}
	if gone {
		for _, name := range []string{"containerd.sock", "containerd.sock.ttrpc", "containerd-debug.sock"} {
			p := filepath.Join(cdir, name)
			err := sys.Remove(p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return errors.Wrapf(err, "remove stale socket %s", p)
			default:
				log.Debug("removed stale socket", "path", p)
			}
		}
	}
	return nil
}

// socketDirs makes the directory of each unix socket among listeners (a
// socket you name in a directory that is not there yet: the engine would
// fail to bind it).
func socketDirs(log hclog.Logger, sys host.System, listeners []core.Listener) error {
	for _, l := range listeners {
		if l.Proto != "unix" {
			continue
		}
		dir := filepath.Dir(l.Addr)
		if sys.IsDir(dir) {
			continue
		}
		if err := sys.MkdirAll(dir); err != nil {
			return errors.Wrapf(err, "make the directory of the engine's socket %s", l.Addr)
		}
		log.Debug("made the directory of the engine's socket", "dir", dir)
	}
	return nil
}

// removeIfStale removes the pid file at path when its process is gone, and
// reports whether it did; a missing file is not an error, an unreadable one is.
func removeIfStale(log hclog.Logger, sys host.System, path string) (bool, error) {
	data, err := sys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, errors.Wrapf(err, "read pid file %s", path)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
	if perr == nil && sys.Alive(pid) {
		log.Debug("pid file of a live process kept", "path", path, "pid", pid)
		return false, nil
	}
	if err := sys.Remove(path); err != nil {
		return false, errors.Wrapf(err, "remove stale pid file %s", path)
	}
	log.Info("removed stale pid file", "path", path, "pid", strings.TrimSpace(string(data)))
	return true, nil
}
