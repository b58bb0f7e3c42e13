package engine

import (
	"os"
	"syscall"
)

// ForwardedSignals are the signals dinv passes on to the engine, every time
// one arrives: cmd/dinv catches them from its start and hands the channel to
// New, so one that arrives before the engine runs is forwarded once it does.
var ForwardedSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2,
}
