//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
	"github.com/dinv/dinv/test/harness"
)

// The iptables stage counts nf_tables rules over netlink instead of running
// iptables-nft-save. Here both are asked about the same fresh network
// namespace (not the host's, whose rules belong to the host engine), as
// iptables-nft adds rules to it, and must agree.
func TestCountNftRulesAgreesWithIptablesNftSave(t *testing.T) {
	for _, p := range []string{"ip", "iptables-nft", "iptables-nft-save", "ip6tables-nft"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found: run `make engine` (installs iptables and iproute2)", p)
		}
	}
	_, noNft := exec.LookPath("nft") // nftables is optional: only one step uses it
	ns := fmt.Sprintf("dinv-perf-nft-%d", os.Getpid())
	inNS := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := suite.Record.Add(harness.HostNetns, ns); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })

	steps := []struct {
		name string
		cmds [][]string
		want int
	}{
		{"a fresh namespace holds no rules", nil, 0},
		{"rules iptables-nft adds to filter and nat are counted", [][]string{
			{"iptables-nft", "-A", "FORWARD", "-j", "ACCEPT"},
			{"iptables-nft", "-N", "DINV-PERF"},
			{"iptables-nft", "-A", "DINV-PERF", "-s", "10.9.0.0/16", "-j", "RETURN"},
			{"iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-s", "10.9.0.0/16", "-j", "MASQUERADE"},
		}, 3},
		{"IPv6 rules and a native nft table are not iptables-nft-save's", [][]string{
			{"ip6tables-nft", "-A", "FORWARD", "-j", "ACCEPT"},
			{"nft", "add", "table", "ip", "dinvperf"},
			{"nft", "add", "chain", "ip", "dinvperf", "c"},
			{"nft", "add", "rule", "ip", "dinvperf", "c", "accept"},
		}, 3},
		{"a deleted rule is no longer counted", [][]string{
			{"iptables-nft", "-D", "FORWARD", "-j", "ACCEPT"},
		}, 2},
	}
	for _, s := range steps {
		for _, c := range s.cmds {
			if c[0] == "nft" && noNft != nil {
				t.Logf("%s: nft not installed, not run: %s", s.name, strings.Join(c, " "))
				continue
			}
			inNS(c...)
		}
		saved := strings.Count("\n"+inNS("iptables-nft-save"), "\n-A ")
		got, err := countIn(t, ns, false)
		if err != nil || got != s.want || saved != s.want {
			t.Errorf("%s: NftRules() = %d, %v; iptables-nft-save shows %d; want %d", s.name, got, err, saved, s.want)
		}
	}
	// Without CAP_NET_ADMIN the kernel refuses the dump, as it refuses
	// iptables-nft-save: nf_tables cannot be used.
	if got, err := countIn(t, ns, true); err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Errorf("NftRules() without CAP_NET_ADMIN = %d, %v; want an EPERM error", got, err)
	}
}

// countIn runs the real host.System's NftRules in network namespace ns, on a
// thread of its own (without CAP_NET_ADMIN when dropAdmin) that ends with the
// call, so neither the namespace nor the capabilities leak to other goroutines.
func countIn(t *testing.T, ns string, dropAdmin bool) (n int, err error) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, e := os.Open("/run/netns/" + ns)
		if e != nil {
			err = e
			return
		}
		defer f.Close()
		if e := unix.Setns(int(f.Fd()), syscall.CLONE_NEWNET); e != nil {
			err = fmt.Errorf("setns: %w", e)
			return
		}
		if dropAdmin {
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if e := unix.Capget(&hdr, &data[0]); e != nil {
				err = fmt.Errorf("capget: %w", e)
				return
			}
			data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
			if e := unix.Capset(&hdr, &data[0]); e != nil {
				err = fmt.Errorf("capset: %w", e)
				return
			}
		}
		n, err = host.OS().NftRules()
	}()
	<-done
	return n, err
}
