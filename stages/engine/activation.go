package engine

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/stages/engine/reaper"
)

// Socket activation: dinv binds the API's TCP port before any stage runs
// (ListenTCP) and the engine gets it as fd 3 with --host=fd://, as systemd
// hands a socket over: connections that come while the engine starts wait in
// the socket's queue instead of being refused, and the engine skips the
// pause it takes before listening on plain TCP itself. Every profile's engine
// takes fd:// (the 1.12 and 1.13 references document `-H fd://`, moby's
// daemon/listeners serves it with or without TLS).
//
// The engine accepts the socket only when LISTEN_PID is its own pid, which
// dinv cannot know before it forks. So the engine is started through dinv
// itself as a launcher (LauncherName as argv[0]): it sets LISTEN_PID to its
// own pid and LISTEN_FDS, then execs the engine, which keeps that pid.

// LauncherName is argv[0] of dinv started as the engine's launcher.
const LauncherName = "dinv-launch-engine"

// listenFD is the first file descriptor of socket activation.
const listenFD = 3

// ListenTCP binds the API's TCP port on every IPv4 address, as the engine's
// own --host=tcp://0.0.0.0:PORT would, and returns the listening socket. The
// queue of connections not yet accepted is the kernel's somaxconn (4096 on
// current kernels).
func ListenTCP(port int) (*os.File, error) {
	l, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
	if err != nil {
		return nil, errors.Wrap(err, "bind the API port")
	}
	defer l.Close() // the file is a duplicate that stays open
	f, err := l.(*net.TCPListener).File()
	return f, errors.Wrap(err, "bind the API port")
}

// activated turns the engine's command into its launch through dinv with the
// listening socket as fd 3. The engine is looked up in env's PATH here, so
// that a missing engine fails to start as it does without activation.
func activated(c reaper.Cmd, socket *os.File) (reaper.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return c, errors.Wrap(err, "find dinv's own program for the engine's launcher")
	}
	path, err := reaper.LookPath(c.Args[0], c.Env)
	if err != nil {
		return c, err
	}
	c.Path = self
	c.Args = append([]string{LauncherName, path}, c.Args...)
	c.Files = []*os.File{socket}
	return c, nil
}

// Launch is dinv as the engine's launcher: args are the engine's path and
// argv. It never returns: it execs the engine with LISTEN_PID and
// LISTEN_FDS set, or exits 127 saying why it could not.
func Launch(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "dinv: launcher: no engine to start")
		os.Exit(127)
	}
	env := append(os.Environ(), "LISTEN_PID="+strconv.Itoa(os.Getpid()), "LISTEN_FDS=1")
	err := syscall.Exec(args[0], args[1:], env)
	fmt.Fprintf(os.Stderr, "dinv: launcher: exec %s: %v\n", args[0], err)
	os.Exit(127)
}
