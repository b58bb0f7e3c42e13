package pki

import (
	"crypto/x509"
	"net"
	"sort"
	"strings"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/san"
)

// dockerName is the name every server certificate dinv issues covers: the
// network alias CI services give the engine.
const dockerName = "docker"

func serverHosts(addrs []net.IP, hostname string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h, err := san.Canonical(strings.TrimSpace(h))
		if err == nil && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, a := range addrs {
		if a != nil {
			add(a.String())
		}
	}
	for _, h := range append([]string{"127.0.0.1", "::1", "localhost", dockerName, hostname}, extra...) {
		add(h)
	}
	sort.Strings(out)
	return out
}

// splitHosts sorts hosts into the SAN fields: IPs and DNS names.
func splitHosts(hosts []string) (ips []net.IP, names []string) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	return ips, names
}

// uncovered returns the hosts cert is not valid for.
func uncovered(cert *x509.Certificate, hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			out = append(out, h)
		}
	}
	return out
}

// withCovered is hosts plus every IP and DNS name cert already covers,
// de-duplicated (IPs in canonical form) and sorted.
func withCovered(cert *x509.Certificate, hosts []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if c, err := san.Canonical(h); err == nil {
			h = c
		}
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, ip := range cert.IPAddresses {
		add(ip.String())
	}
	for _, h := range append(append([]string{}, cert.DNSNames...), hosts...) {
		add(h)
	}
	sort.Strings(out)
	return out
}

// sanList is san.ParseList for one -tls-san entry, which must name a host.
func sanList(entry string) ([]string, error) {
	hosts, err := san.ParseList(entry)
	if err == nil && len(hosts) == 0 {
		err = san.Check(entry)
	}
	return hosts, err
}

// extraHosts are the hosts every -tls-san entry names, in canonical form.
func extraHosts(sans []string) ([]string, error) {
	var out []string
	for _, san := range sans {
		hosts, err := sanList(san)
		if err != nil {
			return nil, core.Usagef("-tls-san %v", err)
		}
		out = append(out, hosts...)
	}
	return out, nil
}
