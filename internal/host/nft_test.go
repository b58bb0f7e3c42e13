package host

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nlMsg builds one netlink message of typ and seq around body, padded.
func nlMsg(typ uint16, seq uint32, body []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, nlAlign(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, body...)
	return append(b, make([]byte, cap(b)-len(b))...)
}

// ruleMsg is an NFT_MSG_NEWRULE of table, as a dump returns it.
func ruleMsg(seq uint32, table string) []byte {
	body := []byte{unix.NFPROTO_IPV4, unix.NFNETLINK_V0, 0, 0}
	// A chain attribute first, so that the table is not found by luck.
	for _, a := range []struct {
		typ uint16
		val string
	}{{unix.NFTA_RULE_CHAIN, "FORWARD"}, {unix.NFTA_RULE_TABLE | unix.NLA_F_NET_BYTEORDER, table}} {
		attr := make([]byte, 4, nlAlign(4+len(a.val)+1))
		binary.NativeEndian.PutUint16(attr[0:], uint16(4+len(a.val)+1))
		binary.NativeEndian.PutUint16(attr[2:], a.typ)
		attr = append(attr, a.val...)
		body = append(body, append(attr, make([]byte, cap(attr)-len(attr))...)...)
	}
	return nlMsg(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWRULE, seq, body)
}

func errMsg(seq uint32, errno syscall.Errno) []byte {
	body := make([]byte, 4+unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(body, uint32(-int32(errno)))
	return nlMsg(unix.NLMSG_ERROR, seq, body)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestParseRuleDump(t *testing.T) {
	done := nlMsg(unix.NLMSG_DONE, 1, make([]byte, 4))
	cases := []struct {
		name     string
		dgram    []byte
		wantDone bool
		wantN    int
		wantErr  error
	}{
		{"an empty dump is done with no rules", done, true, 0, nil},
		{"rules of iptables' tables are counted up to the end", cat(ruleMsg(1, "filter"), ruleMsg(1, "nat"), ruleMsg(1, "mangle"), done), true, 3, nil},
		{"rules of a native nft table are not iptables'", cat(ruleMsg(1, "filter"), ruleMsg(1, "dinvperf"), done), true, 1, nil},
		{"a datagram without NLMSG_DONE leaves the dump open", cat(ruleMsg(1, "raw"), ruleMsg(1, "security")), false, 2, nil},
		{"messages of another request are skipped", cat(ruleMsg(7, "filter"), nlMsg(unix.NLMSG_DONE, 7, nil), ruleMsg(1, "filter")), false, 1, nil},
		{"the kernel refusing the dump is an error", errMsg(1, syscall.EPERM), false, 0, syscall.EPERM},
		{"an acknowledgement is no error", cat(errMsg(1, 0), done), true, 0, nil},
		{"a message longer than the datagram is an error", ruleMsg(1, "filter")[:20], false, 0, errMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gotDone, n, err := parseRuleDump(c.dgram, 1)
			if gotDone != c.wantDone || n != c.wantN || (err == nil) != (c.wantErr == nil) ||
				(c.wantErr != nil && c.wantErr != errMalformed && !errors.Is(err, c.wantErr)) {
				t.Errorf("parseRuleDump() = %v, %d, %v; want %v, %d, %v", gotDone, n, err, c.wantDone, c.wantN, c.wantErr)
			}
		})
	}
}

// errMalformed stands for any error in TestParseRuleDump.
var errMalformed = errors.New("any error")

func TestParseRuleDumpWrapsTheKernelsErrorOnce(t *testing.T) {
	_, _, err := parseRuleDump(errMsg(1, syscall.EPERM), 1)
	if want := "read nf_tables rule dump: operation not permitted"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
