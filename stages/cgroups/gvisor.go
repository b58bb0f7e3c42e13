package cgroups

import (
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/host"
)

// engineControllers are the cgroup v1 controllers the engine uses for its
// containers' limits.
var engineControllers = []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer",
	"hugetlb", "memory", "net_cls", "net_prio", "perf_event", "pids"}

// missingControllers lists the engine's cgroup controllers that the kernel
// does not have (/proc/cgroups), in engineControllers' order.
func missingControllers(sys host.System) ([]string, error) {
	data, err := sys.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, errors.Wrap(err, "read cgroup controllers")
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && !strings.HasPrefix(f[0], "#") && f[3] == "1" {
			have[f[0]] = true
		}
	}
	var missing []string
	for _, c := range engineControllers {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// warnGVisorCgroups says once which controllers gVisor's emulated cgroup v1
// lacks, and what that costs the engine's containers.
func warnGVisorCgroups(log hclog.Logger, sys host.System) error {
	missing, err := missingControllers(sys)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	log.Warn("gVisor emulates cgroups without some controllers: limits that need them are ignored "+
		"for the engine's containers (docker pause needs freezer, --device-read-bps blkio)",
		"missing", strings.Join(missing, ","))
	return nil
}
