package reaper

import (
	"fmt"
	"syscall"
)

// Status is how a process ended: its exit code, or the signal that killed it.
type Status struct {
	Code   int            // the exit code when Signal is 0
	Signal syscall.Signal // the signal that killed it, 0 when it exited
}

// statusOf converts a wait status from wait4.
func statusOf(ws syscall.WaitStatus) Status {
	if ws.Signaled() {
		return Status{Signal: ws.Signal()}
	}
	return Status{Code: ws.ExitStatus()}
}

// ExitCode is the status a shell would report: the code, or 128+N for signal N.
func (s Status) ExitCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

// String reads "exited with status 1" or "killed by signal 9".
func (s Status) String() string {
	if s.Signal != 0 {
		return fmt.Sprintf("killed by signal %d", int(s.Signal))
	}
	return fmt.Sprintf("exited with status %d", s.Code)
}
