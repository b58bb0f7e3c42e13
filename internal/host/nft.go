package host

import (
	"encoding/binary"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// iptablesNftTables are the IPv4 tables iptables-nft-save shows: the
// built-in tables of iptables, and no others (a native nft table named
// otherwise is not iptables').
var iptablesNftTables = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

const (
	sizeofNfgenmsg = 4      // struct nfgenmsg: family, version, res_id
	nlaTypeMask    = 0x3fff // an attribute's type without its NLA_F_* flags
)

// countNftRules counts the rules iptables-nft-save would print (its "-A"
// lines) in this network namespace, asking the kernel directly: one
// NFT_MSG_GETRULE dump over a NETLINK_NETFILTER socket, about a hundred
// microseconds where the exec of iptables-nft-save took ~3 ms of every start.
// An error (no nfnetlink: EPROTONOSUPPORT; no nf_tables: EINVAL or
// EOPNOTSUPP; no CAP_NET_ADMIN: EPERM) means nf_tables cannot be used here,
// where iptables-nft-save would have failed too.
func countNftRules() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return 0, errors.Wrap(err, "open netfilter netlink socket")
	}
	defer unix.Close(fd) // only read from: a failing close loses nothing
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, errors.Wrap(err, "bind netfilter netlink socket")
	}
	const seq = 1
	req := make([]byte, unix.SizeofNlMsghdr+sizeofNfgenmsg)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETRULE)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	req[16] = unix.NFPROTO_IPV4 // nfgenmsg: family, version, res_id (0)
	req[17] = unix.NFNETLINK_V0
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, errors.Wrap(err, "send nf_tables rule dump request")
	}
	// The kernel fills a dump's reply up to 32 KiB; a bigger buffer never
	// truncates one.
	buf := make([]byte, 64<<10)
	n := 0
	for {
		r, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, errors.Wrap(err, "read nf_tables rule dump")
		}
		done, count, err := parseRuleDump(buf[:r], seq)
		if err != nil {
			return 0, err
		}
		n += count
		if done {
			return n, nil
		}
	}
}

// parseRuleDump reads one datagram of a rule dump: how many of its rules are
// in iptables' tables, and whether the dump ended (NLMSG_DONE). An
// NLMSG_ERROR with a non-zero code is the kernel refusing the dump.
func parseRuleDump(b []byte, seq uint32) (done bool, n int, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(ne.Uint32(b[0:]))
		typ, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return false, 0, errors.New("read nf_tables rule dump: malformed netlink message")
		}
		body := b[unix.SizeofNlMsghdr:l]
		b = b[min(nlAlign(l), len(b)):]
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			return true, n, nil
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return false, 0, errors.New("read nf_tables rule dump: short netlink error")
			}
			if code := int32(ne.Uint32(body)); code != 0 {
				return false, 0, errors.Wrap(unix.Errno(-code), "read nf_tables rule dump")
			}
		case unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWRULE:
			if len(body) >= sizeofNfgenmsg && iptablesNftTables[ruleTable(body[sizeofNfgenmsg:])] {
				n++
			}
		}
	}
	return false, n, nil
}

// ruleTable returns the NFTA_RULE_TABLE attribute of a rule message's
// attributes, "" when it has none.
func ruleTable(attrs []byte) string {
	ne := binary.NativeEndian
	for len(attrs) >= unix.SizeofNlAttr {
		l := int(ne.Uint16(attrs[0:]))
		typ := ne.Uint16(attrs[2:]) & nlaTypeMask
		if l < unix.SizeofNlAttr || l > len(attrs) {
			return ""
		}
		if typ == unix.NFTA_RULE_TABLE {
			v := attrs[unix.SizeofNlAttr:l]
			for len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			return string(v)
		}
		attrs = attrs[min(nlAlign(l), len(attrs)):]
	}
	return ""
}

// nlAlign rounds a netlink length up to the 4-byte alignment of messages
// and attributes.
func nlAlign(l int) int { return (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
