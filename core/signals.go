package core

import (
	"fmt"
	"os"
	"syscall"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// Signals are the signals dinv catches, from its first instruction on: the
// stop signals, and those it passes to a running engine (a reload, a stack
// dump).
var Signals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2,
}

// isStop reports whether sig asks dinv to stop.
func isStop(sig syscall.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT
}

// StopError is the cause of a context the runner ended on a stop signal; before
// the engine runs it is also dinv's reason to exit, with 128+N.
type StopError struct{ Signal syscall.Signal }

func (e *StopError) Error() string { return "stopped by " + SignalName(e.Signal) }

// ExitCode is 128+N, as if the signal had ended the engine.
func (e *StopError) ExitCode() int { return 128 + int(e.Signal) }

// SignalName is "SIGTERM" for syscall.SIGTERM.
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// ExitCode is dinv's exit status for an error: 2 for a usage error, the
// error's own code when it or anything it wraps has one (a StopError: 128+N),
// else 1.
func ExitCode(err error) int {
	if IsUsage(err) {
		return 2
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
