package core

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Profile is everything dinv knows about one engine version: how that
// engine's command line is spelled. Every profile runs DefaultStages unless
// a YAML file lists others.
type Profile struct {
	// Version is the major.minor this profile was written for ("26.1"), or
	// a major alone ("29") for a profile that fits each of its releases.
	Version string
	Args    ArgRules
}

// ArgRules say how one engine version spells its command line.
type ArgRules struct {
	// Daemon is the engine program and the words before its flags:
	// {"dockerd"}, or {"docker", "daemon"} for 1.12.
	Daemon []string
	// DataRootFlag names the data root: "--data-root", or "--graph" before 17.05.
	DataRootFlag string
	// TLSFalse adds --tls=false when TCP is served without TLS: engines from
	// 20.10 on otherwise sleep 15 s at start-up to warn about it.
	TLSFalse bool
	// Containerd, when set, is started before the engine as its own process
	// (1.12); the engine then gets --containerd with its socket.
	Containerd []string
	// ContainerdSocket is that containerd's socket.
	ContainerdSocket string
	// OwnContainerd: dinv starts the containerd the engine would otherwise
	// start itself ("managed"), configured as the engine configures it,
	// waits until it serves, then starts the engine with --containerd.
	// 26.1's engine dials its managed containerd once, before that
	// containerd listens, and its gRPC client waits out a 1 s reconnect
	// backoff before the next try (args.OwnContainerd).
	OwnContainerd bool
	// StorageDrivers are the driver names this engine knows.
	StorageDrivers []string
	// Snapshotters, when set, are containerd's snapshotters the engine
	// takes as its storage driver (--storage-driver=overlayfs): the
	// engine keeps its images in containerd's image store by default
	// (Docker 29 on), and a graph driver (StorageDrivers) is chosen only
	// by naming one, or by the feature containerd-snapshotter=false.
	Snapshotters []string
}

// DefaultStages is the stage list of a start without a YAML file: checking the container's
// privileges before anything changes, preparing the container, certificates,
// the command line, then the engine, the readiness report and the swarm.
// Order matters where a stage reads what another fills: network before pki
// (the certificate's addresses), storage and pki before args, args before
// engine, engine before ready, ready before swarm (it talks to the engine's
// API; without -swarm-init or -swarm-join it does nothing). The container
// fixes (cgroups, mounts, iptables, stale) come before the engine starts and
// need nothing from the others; rootless (nothing unless DINV_ROOTLESS)
// comes before storage, which gives the data root to the engine's user.
var DefaultStages = []string{
	"privileges", "network", "cgroups", "mounts", "iptables", "stale", "rootless",
	"storage", "pki", "args", "engine", "ready", "swarm",
}

var modernDrivers = []string{"overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"}

// Profiles are the engine versions dinv knows, oldest first.
var Profiles = []*Profile{
	{
		Version: "1.12",
		Args: ArgRules{
			Daemon:       []string{"docker", "daemon"},
			DataRootFlag: "--graph",
			Containerd: []string{"docker-containerd",
				"--listen", "unix:///run/containerd.sock",
				"--runtime", "docker-runc",
				"--shim", "docker-containerd-shim"},
			ContainerdSocket: "/run/containerd.sock",
			StorageDrivers:   []string{"aufs", "overlay", "overlay2", "devicemapper", "btrfs", "zfs", "vfs"},
		},
	},
	{
		Version: "1.13",
		Args: ArgRules{
			Daemon:         []string{"dockerd"},
			DataRootFlag:   "--graph",
			StorageDrivers: []string{"aufs", "overlay", "overlay2", "devicemapper", "btrfs", "zfs", "vfs"},
		},
	},
	modern("20.10"),
	ownContainerd(modern("26.1")),
	modern("28.5"),
	engine29(),
}

// engine29 is Docker 29, whatever its minor release (dinv:29 is built from
// moby's Go module, images/engine29): the command line of 28.5, and
// containerd's image store by default (docs/engine-29.md).
func engine29() *Profile {
	p := modern("29")
	p.Args.Snapshotters = []string{"overlayfs", "native"}
	return p
}

func ownContainerd(p *Profile) *Profile {
	p.Args.OwnContainerd = true
	return p
}

func modern(v string) *Profile {
	return &Profile{
		Version: v,
		Args: ArgRules{
			Daemon:         []string{"dockerd"},
			DataRootFlag:   "--data-root",
			TLSFalse:       true,
			StorageDrivers: modernDrivers,
		},
	}
}

// KnowsDriver reports whether the profile's engine has a storage driver
// name: a graph driver, or a snapshotter of its containerd image store.
func (p *Profile) KnowsDriver(name string) bool {
	return slices.Contains(p.Args.StorageDrivers, name) || p.IsSnapshotter(name)
}

// IsSnapshotter reports whether name is one of the containerd snapshotters
// the profile's engine takes as its storage driver.
func (p *Profile) IsSnapshotter(name string) bool {
	return slices.Contains(p.Args.Snapshotters, name)
}

// Major is the major version of a profile version ("28.5": 28, "29": 29),
// 0 when it has none.
func Major(version string) int {
	m, _, _ := strings.Cut(version, ".")
	n, _ := strconv.Atoi(m)
	return n
}

// FindProfile returns the profile for exactly version v ("26.1"), or a usage
// error that lists the known versions.
func FindProfile(v string) (*Profile, error) {
	for _, p := range Profiles {
		if p.Version == v {
			return p, nil
		}
	}
	return nil, Usagef("unknown engine version %q (known: %s)", v, strings.Join(Versions(), ", "))
}

// Versions lists the known profile versions, oldest first.
func Versions() []string {
	vs := make([]string, len(Profiles))
	for i, p := range Profiles {
		vs[i] = p.Version
	}
	return vs
}

var versionRE = regexp.MustCompile(`(\d+)\.(\d+)`)

// MatchProfile returns the profile for an engine that reported version
// (as in "Docker version 26.1.5+dfsg1, build a72d7cd"): the exact major.minor
// (or the major, for a profile of a whole major such as "29"), else the
// newest profile not newer than it, with exact false.
func MatchProfile(version string) (p *Profile, exact bool, err error) {
	want, ok := parseVersion(version)
	if !ok {
		return nil, false, fmt.Errorf("no version number in %q", version)
	}
	for i := len(Profiles) - 1; i >= 0; i-- { // Profiles are oldest first
		have, wholeMajor := parseProfileVersion(Profiles[i].Version)
		if have == want || wholeMajor && have[0] == want[0] {
			return Profiles[i], true, nil
		}
		if have[0] < want[0] || have[0] == want[0] && have[1] < want[1] {
			return Profiles[i], false, nil
		}
	}
	return nil, false, fmt.Errorf("engine version %d.%d is older than every profile (known: %s)",
		want[0], want[1], strings.Join(Versions(), ", "))
}

// parseProfileVersion reads a profile's version: "26.1", or "29" (a whole
// major, read as 29.0, with wholeMajor true).
func parseProfileVersion(s string) (v [2]int, wholeMajor bool) {
	if major, err := strconv.Atoi(s); err == nil {
		return [2]int{major, 0}, true
	}
	v, _ = parseVersion(s)
	return v, false
}

func parseVersion(s string) ([2]int, bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return [2]int{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return [2]int{major, minor}, true
}
