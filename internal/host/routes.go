package host

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Route flags from linux/route.h (ipv6_route shares their values).
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
)

// defaultRouteV4 returns the interface of the first usable default route in
// /proc/net/route's format, or "".
func defaultRouteV4(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil {
			continue
		}
		if f[1] == "00000000" && f[7] == "00000000" && flags&rtfUp != 0 && flags&rtfReject == 0 {
			return f[0], nil
		}
	}
	return "", sc.Err()
}

// defaultRouteV6 returns the interface of the first usable default route in
// /proc/net/ipv6_route's format (no header; the interface is the last field),
// or "". The kernel's unreachable default on lo is skipped.
func defaultRouteV6(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil {
			continue
		}
		if strings.Trim(f[0], "0") == "" && f[1] == "00" && flags&rtfUp != 0 && flags&rtfReject == 0 && f[9] != "lo" {
			return f[9], nil
		}
	}
	return "", sc.Err()
}
