// Package activation is dinv's socket activation: dinv binds the engine's TCP
// listeners before any stage runs (Listen) and the engine gets them as fds 3
// and up with --host=fd://, as systemd hands sockets over: connections that
// come while the engine starts wait in the sockets' queues instead of being
// refused, and the engine skips the pause it takes before listening on plain
// TCP itself. Every profile's engine takes fd:// (the 1.12 and 1.13
// references document `-H fd://`; moby's daemon/listeners serves every
// socket it is handed, with or without TLS).
//
// The engine accepts the sockets only when LISTEN_PID is its own pid, which
// dinv cannot know before it forks. So the engine is started through dinv
// itself as a launcher (LauncherName as argv[0]): it sets LISTEN_PID to its
// own pid and LISTEN_FDS, then execs the engine, which keeps that pid.
package activation

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// LauncherName is argv[0] of dinv started as the engine's launcher.
const LauncherName = "dinv-launch-engine"

// FirstFD is the first file descriptor of socket activation.
const FirstFD = 3

// Listen binds each TCP listener as the engine's own --host=tcp://ADDR would
// (net.Listen "tcp": an address of every interface, 0.0.0.0, takes IPv6 too
// where the container has it) and returns the listening sockets, in order.
// The queue of connections not yet accepted is the kernel's somaxconn.
func Listen(listeners []core.Listener) ([]*os.File, error) {
	var files []*os.File
	for _, l := range listeners {
		f, err := listen(l.Addr)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, errors.Wrapf(err, "bind the API port %s", l.URL())
		}
		files = append(files, f)
	}
	return files, nil
}

func listen(addr string) (*os.File, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer l.Close() // the file is a duplicate that stays open
	return l.(*net.TCPListener).File()
}

// Launch is dinv as the engine's launcher: args are the engine's path and
// argv, files FirstFD on are the sockets. It never returns: it execs the
// engine with LISTEN_PID and LISTEN_FDS set (and inherited LISTEN_*
// variables dropped), or exits 127 saying why it could not.
func Launch(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "dinv: launcher: no engine to start")
		os.Exit(127)
	}
	n := os.Getenv(fdsVar)
	env := append(Scrub(os.Environ()), "LISTEN_PID="+strconv.Itoa(os.Getpid()), "LISTEN_FDS="+n)
	err := syscall.Exec(args[0], args[1:], env)
	fmt.Fprintf(os.Stderr, "dinv: launcher: exec %s: %v\n", args[0], err)
	os.Exit(127)
}

// fdsVar carries the number of sockets from dinv to its launcher.
const fdsVar = "DINV_LISTEN_FDS"

// LauncherEnv is the launcher's environment: env, without inherited LISTEN_*
// variables, with the number of sockets it hands over.
func LauncherEnv(env []string, sockets int) []string {
	return append(Scrub(env), fdsVar+"="+strconv.Itoa(sockets))
}

// Scrub drops the socket activation variables from env: inherited ones (a
// container started with -e LISTEN_PID=..., or by a socket-activating
// runtime) would come first and the engine would find no socket.
func Scrub(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", fdsVar:
			continue
		}
		out = append(out, kv)
	}
	return out
}
