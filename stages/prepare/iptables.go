package prepare

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// iptablesDir is where the links to the chosen variant are made; it is put
// first in the engine's PATH.
const iptablesDir = "/run/dinv/iptables"

// ipTablesNames lists the legacy (x_tables) IPv4 tables of this network namespace.
const ipTablesNames = "/proc/net/ip_tables_names"

// iptablesTools are the programs the engine runs, linked to one variant.
var iptablesTools = []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}

// iptablesStage chooses between the legacy and nf_tables iptables.
type iptablesStage struct {
	sys    System
	getenv func(string) string
	dir    string
	// sendPacket tries a send on an AF_PACKET socket, ifaceWith names the
	// interface that has an address (under gVisor only: gvisor_net.go).
	sendPacket func() error
	ifaceWith  func(net.IP) string
}

// NewIptables returns the iptables stage.
func NewIptables() core.Stage {
	return &iptablesStage{sys: osSystem{}, getenv: os.Getenv, dir: iptablesDir, sendPacket: SendLoopbackPacket, ifaceWith: interfaceWith}
}

func (*iptablesStage) Name() string { return "iptables" }
func (*iptablesStage) SkipsDryRun() {}

// Validate checks DINV_IPTABLES before anything runs.
func (i *iptablesStage) Validate(*core.Config, *core.Profile) error {
	switch v := i.getenv("DINV_IPTABLES"); v {
	case "", "legacy", "nft":
		return nil
	default:
		return core.Usagef("DINV_IPTABLES=%q: want legacy or nft", v)
	}
}

func (i *iptablesStage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	variant, why, err := ChooseIptables(i.sys, i.getenv("DINV_IPTABLES"))
	if err != nil {
		return err
	}
	if variant == "" {
		log.Debug("no iptables variants installed: nothing to choose")
		return nil
	}
	// The engine runs iptables: a variant without it (DINV_IPTABLES naming
	// one that is not installed) would leave the engine without a firewall.
	if prog := "iptables-" + variant; !installed(i.sys, prog) {
		return errors.Errorf("iptables variant %s (%s): %s is not installed", variant, why, prog)
	}
	if err := linkIptables(i.sys, i.dir, variant); err != nil {
		return err
	}
	if s.GVisor {
		version := ""
		if s.Profile != nil {
			version = s.Profile.Version
		}
		n := ProbeGVisorNet(i.sys, variant, i.sendPacket)
		s.EngineFlags = append(s.EngineFlags, GiveEngineSettings(log, GVisorEngineSettings(n, version), s.Config.EngineSet)...)
		giveGVisorSNAT(log, i.sys, variant, n, s.ContainerIP, i.ifaceWith(s.ContainerIP), s.Config.EngineSet)
	}
	env := s.EngineEnv
	if env == nil {
		env = os.Environ()
	}
	s.EngineEnv = prependPath(env, i.dir)
	log.Info("chose the iptables variant", "variant", variant, "reason", why)
	return nil
}

// ChooseIptables picks "legacy" or "nft" and says why: forced (legacy|nft),
// else the variant whose tables hold more rules (the host or an earlier
// engine chose it; mixing both breaks networking), else nft when the kernel
// supports it, else legacy. It returns "" when neither variant is installed,
// and an error when the legacy rules cannot be counted: choosing without them
// could pick the variant the rules are not in.
func ChooseIptables(sys System, forced string) (variant, why string, err error) {
	_, errL := sys.LookPath("iptables-legacy-save")
	_, errN := sys.LookPath("iptables-nft-save")
	switch {
	case forced != "":
		return forced, "DINV_IPTABLES", nil
	case errL != nil && errN != nil:
		return "", "", nil
	case errN != nil:
		return "legacy", "the only variant installed", nil
	case errL != nil:
		return "nft", "the only variant installed", nil
	}
	nl, err := countLegacyRules(sys)
	if err != nil {
		return "", "", err
	}
	// nf_tables is asked over netlink rather than by iptables-nft-save
	// (an exec of ~3 ms): the same count, and the same failure when the
	// kernel has no nf_tables.
	nn, nftErr := sys.NftRules()
	if nftErr != nil {
		nn = 0 // nf_tables unusable here: it holds no rules, and nftErr decides a tie below
	}
	switch {
	case nl > nn:
		return "legacy", "its tables hold rules", nil
	case nn > nl:
		return "nft", "its tables hold rules", nil
	case nftErr == nil:
		return "nft", "no rules yet, the kernel supports nf_tables", nil
	default:
		return "legacy", "no rules yet, nf_tables unavailable", nil
	}
}

// countLegacyRules counts the rules of the legacy (x_tables) iptables.
// Legacy rules live in x_tables, whose tables this network namespace lists
// in ip_tables_names: none there, no legacy rules, and one
// iptables-legacy-save (about 2 ms of every start) is spared. Where the list
// cannot be read, tables may exist and iptables-legacy-save is run.
func countLegacyRules(sys System) (int, error) {
	names, err := sys.ReadFile(ipTablesNames)
	if err == nil && len(strings.TrimSpace(string(names))) == 0 {
		return 0, nil
	}
	save, err := sys.Output("iptables-legacy-save")
	if err != nil {
		return 0, errors.Wrap(err, "count legacy iptables rules (DINV_IPTABLES=legacy or nft chooses without counting)")
	}
	return countRules(save), nil
}

// countRules counts the rules in iptables-save output.
func countRules(save string) int {
	n := 0
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A ") {
			n++
		}
	}
	return n
}

// linkIptables makes dir hold iptables, ip6tables and their -save/-restore as
// links to the variant's programs. A PATH entry rather than
// update-alternatives: it changes nothing in the image, only the engine's
// process tree, and is made afresh on every start.
func linkIptables(sys System, dir, variant string) error {
	if err := sys.MkdirAll(dir); err != nil {
		return errors.Wrapf(err, "create %s", dir)
	}
	// The links of an earlier start (/run survives a container restart) go
	// first, all of them: one of another variant left beside this one's
	// would mix the two.
	for _, tool := range iptablesTools {
		link := filepath.Join(dir, tool)
		if err := sys.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Wrapf(err, "remove %s", link)
		}
	}
	for _, tool := range iptablesTools {
		base, suffix, _ := strings.Cut(tool, "-")
		name := base + "-" + variant
		if suffix != "" {
			name += "-" + suffix
		}
		target, err := sys.LookPath(name)
		if err != nil {
			continue // this variant lacks the tool (ip6tables, say): no link, the engine's PATH finds what the image has
		}
		link := filepath.Join(dir, tool)
		if err := sys.Symlink(target, link); err != nil {
			return errors.Wrapf(err, "link %s", link)
		}
	}
	return nil
}

func installed(sys System, name string) bool {
	_, err := sys.LookPath(name)
	return err == nil
}

// prependPath returns env with dir first in its PATH.
func prependPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return append(out, "PATH="+dir+":"+path)
}
