package iptables

import (
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

// What the engine's networking meets in gVisor's sandbox, probed once before
// the engine starts, and the engine settings that then work. Plain
// functions: probeGVisorNet asks the sandbox, gvisorEngineSettings decides,
// giveEngineSettings says each decision in one line and leaves out the
// settings the user gives the engine.
//
// Measured (gVisor's Go module v0.0.0-20260905035102-160fafc42237, its own
// network stack, engines 20.10, 26.1 and 28.5): bridges and veth pairs work,
// and so do iptables' nat and filter tables with the tcp, udp, owner, mark
// and multiport matches and the DNAT, SNAT and REDIRECT targets (the inner
// containers' embedded DNS needs no more), but not the addrtype and
// conntrack matches the engine's own rules use ("Extension addrtype revision
// 0 not supported"), nor MASQUERADE; writes on AF_PACKET sockets only with
// runsc --allow-packet-socket-write.

// gvisorNet is what one gVisor sandbox's network offers the engine.
type gvisorNet struct {
	// HostNetwork: runsc --network=host. The sandbox uses the machine
	// kernel's sockets in the container's namespace: no iptables tables, no
	// bridges, no veth pairs (netlink RTM_NEWLINK: "Operation not supported").
	HostNetwork bool
	// NoAddrtype is why gVisor's iptables refused a rule with the addrtype
	// match (the engine's nat rules start with one); nil: it took it.
	NoAddrtype error
	// NoPacketWrite is why a send on an AF_PACKET socket failed (gVisor
	// refuses them unless runsc has --allow-packet-socket-write); nil: it
	// worked.
	NoPacketWrite error
}

// probeChain is the nat chain the addrtype probe makes and removes.
const probeChain = "DINV-PROBE"

// probeGVisorNet asks the sandbox what its network offers, with the iptables
// variant's program (iptables-legacy: gVisor has no nf_tables) and send, a
// send on an AF_PACKET socket (sendLoopbackPacket). Under runsc
// --network=host it asks no more than that.
func probeGVisorNet(sys host.System, variant string, send func() error) gvisorNet {
	ipt := "iptables-" + variant
	if _, err := sys.Output(ipt, "-t", "nat", "-S"); err != nil {
		return gvisorNet{HostNetwork: true}
	}
	var n gvisorNet
	// A chain of its own, so that no rule of anyone's is touched: made (or
	// emptied, when a killed start left it), tried, removed.
	if _, err := sys.Output(ipt, "-t", "nat", "-N", probeChain); err != nil {
		_, _ = sys.Output(ipt, "-t", "nat", "-F", probeChain)
	}
	if _, err := sys.Output(ipt, "-t", "nat", "-A", probeChain, "-m", "addrtype", "--dst-type", "LOCAL", "-j", "RETURN"); err != nil {
		n.NoAddrtype = err
	}
	_, _ = sys.Output(ipt, "-t", "nat", "-F", probeChain)
	_, _ = sys.Output(ipt, "-t", "nat", "-X", probeChain)
	n.NoPacketWrite = send()
	return n
}

// sendLoopbackPacket sends one empty ARP frame on an AF_PACKET socket
// through the loopback interface: what the engine's unsolicited ARP does
// (moby's l2disco), where it reaches no one.
func sendLoopbackPacket() error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("AF_PACKET socket: %w", err)
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: lo.Index, Hatype: unix.ARPHRD_ETHER, Halen: 6}
	copy(sa.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := unix.Sendto(fd, make([]byte, 28), 0, sa); err != nil {
		return fmt.Errorf("AF_PACKET sendto: %w", err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// engineSetting is one engine setting dinv gives for the sandbox: the
// setting (dockerd's long flag name, as core.EngineConfig.Given names it)
// and the flag that sets it.
type engineSetting struct {
	Setting string
	Flag    string
}

// netDecision is one thing the sandbox's network calls for: the engine
// settings that do it, and the one warning that says what it costs.
type netDecision struct {
	Settings []engineSetting
	Message  string
	Fields   []any
}

// advertOption turns off the unsolicited ARP and neighbour advertisements an
// engine sends for each container it connects to a bridge network.
const advertOption = "com.docker.network.advertise_addr_nmsgs=0"

// gvisorEngineSettings decides, from what the sandbox offers and the
// profile's engine version ("28.5"), the engine settings that work there:
//   - runsc --network=host: sandboxNetFlags (no firewall, no bridge);
//   - no addrtype match: --iptables=false --ip6tables=false (the engine
//     refuses to start on its first nat rule otherwise); published ports
//     then go through the engine's userland proxy;
//   - no packet writes, and an engine from 28.0 on (they send unsolicited
//     ARP for every container they connect): new bridge networks get
//     advertise_addr_nmsgs=0 (--default-network-opt, 24.0 and later). The
//     default bridge takes no such option (moby builds its options itself):
//     a container there cannot start, which the line says, with the fix.
func gvisorEngineSettings(n gvisorNet, engine string) []netDecision {
	if n.HostNetwork {
		var s []engineSetting
		for _, f := range sandboxNetFlags {
			s = append(s, engineSetting{Setting: strings.TrimPrefix(strings.SplitN(f, "=", 2)[0], "--"), Flag: f})
		}
		return []netDecision{{Settings: s,
			Message: "gVisor sandbox without iptables or bridges (runsc --network=host): the engine runs " +
				"without networking of its own; inner containers and builds need --network host"}}
	}
	var d []netDecision
	if n.NoAddrtype != nil {
		d = append(d, netDecision{
			Settings: []engineSetting{{"iptables", "--iptables=false"}, {"ip6tables", "--ip6tables=false"}},
			Message: "gVisor's iptables lacks the addrtype match of the engine's NAT rules: the engine runs without " +
				"iptables rules; published ports go through its userland proxy, and inner networks are not isolated " +
				"from each other",
			Fields: []any{"probe", n.NoAddrtype.Error()},
		})
	}
	if n.NoPacketWrite != nil && engineAtLeast(engine, 28) {
		d = append(d, netDecision{
			Settings: []engineSetting{{"default-network-opt", "--default-network-opt=bridge=" + advertOption}},
			Message: "gVisor refuses packet sends (runsc without --allow-packet-socket-write), and this engine " +
				"advertises each container's addresses with them: bridge networks you create go without; " +
				"on the default bridge no container can start (\"failed to advertise addresses\"): " +
				"use a network of your own, or register runsc with --allow-packet-socket-write",
			Fields: []any{"probe", n.NoPacketWrite.Error()},
		})
	}
	return d
}

// engineAtLeast reports whether a profile version ("28.5", "29") is major or later.
func engineAtLeast(version string, major int) bool { return core.Major(version) >= major }

// giveEngineSettings logs each decision once and returns the flags to give
// the engine, leaving out every setting the user gives the engine (userSet:
// core.EngineConfig.Given, by setting). A decision whose settings are all
// the user's is said at info level with where each was set, and gives
// nothing.
func giveEngineSettings(log hclog.Logger, decisions []netDecision, userSet map[string]core.Source) []string {
	var flags []string
	for _, d := range decisions {
		var give, yours []string
		for _, s := range d.Settings {
			if from, ok := userSet[s.Setting]; ok {
				yours = append(yours, s.Setting+" ("+from.String()+")")
				continue
			}
			give = append(give, s.Flag)
		}
		fields := append([]any{}, d.Fields...)
		if len(yours) > 0 {
			fields = append(fields, "yours", strings.Join(yours, ", "))
		}
		if len(give) == 0 {
			log.Info(d.Message+": the settings are yours, dinv gives none", fields...)
			continue
		}
		log.Warn(d.Message, append([]any{"engine_flags", strings.Join(give, " ")}, fields...)...)
		flags = append(flags, give...)
	}
	return flags
}

// gvisorSNAT makes the inner containers' connections leave through iface
// with this container's address ip, as the engine's MASQUERADE rule would
// (without it they reach nothing beyond this container: nobody routes the
// inner networks back). gVisor has no MASQUERADE target, and its NAT rules
// need a protocol: one SNAT rule for TCP and one for UDP (ICMP stays inside).
// Each rule is checked first (-C), so a restarted dinv adds none twice.
func gvisorSNAT(sys host.System, variant, iface string, ip net.IP) error {
	ipt := "iptables-" + variant
	for _, proto := range []string{"tcp", "udp"} {
		rule := []string{"POSTROUTING", "-p", proto, "-o", iface, "!", "-s", ip.String(), "-j", "SNAT", "--to-source", ip.String()}
		if _, err := sys.Output(ipt, append([]string{"-t", "nat", "-C"}, rule...)...); err == nil {
			continue
		}
		if _, err := sys.Output(ipt, append([]string{"-t", "nat", "-A"}, rule...)...); err != nil {
			return err
		}
	}
	return nil
}

// interfaceWith returns the name of the interface that has ip, "" if none.
func interfaceWith(ip net.IP) string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, in := range ifaces {
		addrs, err := in.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return in.Name
			}
		}
	}
	return ""
}

// giveGVisorSNAT adds gvisorSNAT where the engine goes without iptables for
// want of addrtype, and says so in one line; not where the user gives the
// engine's iptables or ip-masq setting, nor without an address to give.
func giveGVisorSNAT(log hclog.Logger, sys host.System, variant string, n gvisorNet, ip net.IP, iface string, userSet map[string]core.Source) {
	_, iptables := userSet["iptables"]
	_, masq := userSet["ip-masq"]
	if n.HostNetwork || n.NoAddrtype == nil || iptables || masq {
		return
	}
	if ip == nil || iface == "" {
		log.Warn("gVisor: no IPv4 address on a default-route interface: inner containers reach nothing beyond this container")
		return
	}
	if err := gvisorSNAT(sys, variant, iface, ip); err != nil {
		log.Warn("gVisor: could not add the SNAT rules that stand in for the engine's masquerading: "+
			"inner containers reach nothing beyond this container", "error", err.Error())
		return
	}
	log.Info("gVisor has no MASQUERADE: dinv added SNAT rules (tcp, udp) in its place: inner containers reach "+
		"beyond this container with its address (ICMP does not)", "interface", iface, "to_source", ip.String())
}
