package host

import (
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Capability is one capability, by bit (unix.CAP_*) and name.
type Capability struct {
	Bit  uint
	Name string
}

// EffectiveCaps reads this process's effective capability set
// (/proc/self/status CapEff) and returns it with the names of those of want
// it lacks.
func EffectiveCaps(sys System, want ...Capability) (eff uint64, missing []string, err error) {
	status, err := sys.ReadFile("/proc/self/status")
	if err != nil {
		return 0, nil, errors.Wrap(err, "read capabilities")
	}
	if eff, err = capEff(string(status)); err != nil {
		return 0, nil, err
	}
	for _, c := range want {
		if eff&(1<<c.Bit) == 0 {
			missing = append(missing, c.Name)
		}
	}
	return eff, missing, nil
}

// capEff reads the effective capability set from /proc/PID/status.
func capEff(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, errors.Wrap(err, "read CapEff")
		}
	}
	return 0, errors.New("read capabilities: no CapEff line in /proc/self/status")
}
