package hosttest

import (
	"strings"

	"github.com/hashicorp/go-hclog"
)

// GVisorVersion is /proc/version on gVisor's sentry (runsc 20240729,
// measured): what host.InGVisor finds it by.
const GVisorVersion = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n"

// Logs collects what a stage logged, one line per entry.
type Logs struct{ strings.Builder }

// Logger returns a debug-level logger writing to l.
func (l *Logs) Logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: l, Level: hclog.Debug, DisableTime: true})
}

// Warnings returns the lines logged at warning level.
func (l *Logs) Warnings() []string {
	var w []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "[WARN]") {
			w = append(w, line)
		}
	}
	return w
}
