package privileges

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
)

// check refuses a container that lacks what the engine needs, or with
// rootless what the rootless engine needs.
func check(log hclog.Logger, sys host.System, rootless bool) error {
	if rootless {
		missing, err := missingForRootless(sys)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return errors.Errorf("this container lacks what a rootless Docker host needs: %s", strings.Join(missing, "; "))
		}
		log.Debug("rootless: privileges present")
		return nil
	}
	missing, err := missingPrivileges(sys)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return errors.Errorf("this container lacks what a Docker host needs (%s): run it with --privileged, "+
			"or with the explicit option set of the README (Hosts that refuse --privileged)", strings.Join(missing, ", "))
	}
	log.Debug("privileges present")
	return nil
}

// neededCaps are the capabilities the engine cannot do without: mounts and
// namespaces (SYS_ADMIN), bridges and firewall rules (NET_ADMIN), and the
// device nodes of nested containers (MKNOD).
var neededCaps = []host.Capability{
	{Bit: unix.CAP_SYS_ADMIN, Name: "CAP_SYS_ADMIN"},
	{Bit: unix.CAP_NET_ADMIN, Name: "CAP_NET_ADMIN"},
	{Bit: unix.CAP_MKNOD, Name: "CAP_MKNOD"},
}

// missingPrivileges lists what this process lacks: capabilities missing from
// its effective set (/proc/self/status CapEff), and a cgroup tree it can
// write when it cannot remount one either (no CAP_SYS_ADMIN).
func missingPrivileges(sys host.System) ([]string, error) {
	eff, missing, err := host.EffectiveCaps(sys, neededCaps...)
	if err != nil {
		return nil, err
	}
	if tree := cgroupTree(sys); eff&(1<<unix.CAP_SYS_ADMIN) == 0 && !sys.Writable(tree) {
		missing = append(missing, "a writable "+tree)
	}
	return missing, nil
}

// cgroupTree is where the engine writes cgroups: a v1 hierarchy (under a
// tmpfs that is writable even when they are not), or the v2 tree.
func cgroupTree(sys host.System) string {
	if v1 := host.CgroupRoot + "/memory"; sys.IsDir(v1) {
		return v1
	}
	return host.CgroupRoot
}

// tunDevice is what slirp4netns makes the rootless engine's network
// interface with.
const tunDevice = "/dev/net/tun"

// missingForRootless lists what the container lacks for the rootless engine,
// with the docker run option that gives it: the capabilities the
// preparation uses (all in docker's default set), the tun device, user
// namespaces (a container's default seccomp profile refuses to make one), and
// a /proc without masked paths (the kernel refuses to mount a new /proc in a
// user namespace while parts of the container's are covered).
func missingForRootless(sys host.System) ([]string, error) {
	_, caps, err := host.EffectiveCaps(sys, host.Capability{Bit: unix.CAP_CHOWN, Name: "CAP_CHOWN"},
		host.Capability{Bit: unix.CAP_FOWNER, Name: "CAP_FOWNER"}, host.Capability{Bit: unix.CAP_SETUID, Name: "CAP_SETUID"},
		host.Capability{Bit: unix.CAP_SETGID, Name: "CAP_SETGID"}, host.Capability{Bit: unix.CAP_SETFCAP, Name: "CAP_SETFCAP"})
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range caps {
		missing = append(missing, c+" (docker's default set has it)")
	}
	for _, prog := range []string{"rootlesskit", "slirp4netns", "setpriv"} {
		if _, err := sys.LookPath(prog); err != nil {
			missing = append(missing, prog+" (the dinv:<version>-rootless images have it, from Debian trixie on)")
		}
	}
	if _, err := sys.Lstat(tunDevice); err != nil {
		missing = append(missing, tunDevice+" (--device /dev/net/tun)")
	}
	if _, err := sys.Output("unshare", "--user", "true"); err != nil {
		missing = append(missing, "user namespaces (--security-opt seccomp=unconfined: "+firstLine(err.Error())+")")
	}
	mounts, err := host.ReadMounts(sys)
	if err != nil {
		return nil, errors.Wrap(err, "read mounts")
	}
	var masked []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Point, "/proc/") {
			masked = append(masked, m.Point)
		}
	}
	if len(masked) > 0 {
		missing = append(missing, fmt.Sprintf("a /proc without masked paths (--security-opt systempaths=unconfined; masked: %s)",
			strings.Join(masked, " ")))
	}
	return missing, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
