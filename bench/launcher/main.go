// Command launcher is the benchmark's "by hand" socket activation: the
// entrypoint of the reference that starts the same image as DinV with the
// same engine command line, activated, but without dinv. It binds the API's
// TCP port on every IPv4 address (as dinv does: net.Listen "tcp4", the
// kernel's somaxconn as backlog), puts the socket on fd 3 and execs the
// engine with LISTEN_PID (its own pid, which the engine keeps) and
// LISTEN_FDS=1, as systemd would:
//
//	launcher PORT dockerd --host=fd:// ...
//
// It is built static (CGO_ENABLED=0) by the benchmark and bind-mounted into
// the container; it does nothing else, so it is the floor of an activated
// start: DinV's stages and its launcher's extra exec are what DinV adds.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// listenFD is the first file descriptor of socket activation.
const listenFD = 3

func main() {
	if len(os.Args) < 3 {
		fail(2, "usage: launcher PORT ENGINE [ARG...]")
	}
	if _, err := strconv.Atoi(os.Args[1]); err != nil {
		fail(2, "port %q: %v", os.Args[1], err)
	}
	l, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", os.Args[1]))
	if err != nil {
		fail(1, "bind: %v", err)
	}
	f, err := l.(*net.TCPListener).File() // a duplicate, close-on-exec
	if err != nil {
		fail(1, "listener file: %v", err)
	}
	// fd 3 without close-on-exec: Dup3 clears the flag on its copy.
	if fd := int(f.Fd()); fd != listenFD {
		if err := syscall.Dup3(fd, listenFD, 0); err != nil {
			fail(1, "dup3 to fd %d: %v", listenFD, err)
		}
	} else if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, listenFD, syscall.F_SETFD, 0); errno != 0 {
		fail(1, "clear close-on-exec on fd %d: %v", listenFD, errno)
	}
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fail(127, "%v", err)
	}
	env := append(os.Environ(), "LISTEN_PID="+strconv.Itoa(os.Getpid()), "LISTEN_FDS=1")
	err = syscall.Exec(path, os.Args[2:], env)
	fail(127, "exec %s: %v", path, err)
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "launcher: "+format+"\n", args...)
	os.Exit(code)
}
