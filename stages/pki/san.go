package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"sort"
	"strings"
	"unicode"

	"github.com/dinv/dinv/core"
)

// dockerName is the name every server certificate dinv issues covers: the
// network alias CI services give the engine.
const dockerName = "docker"

// canonicalSAN returns s as a subject alternative name in the form clients
// match it: an IP address in canonical form, or a DNS name lower-cased
// (matching ignores case) without its trailing dot (a dot in a SAN matches
// no name clients connect to). It refuses what no client can match: an empty
// name, a wildcard other than the whole leftmost label ("*.example.com"), an
// IPv6 zone, a non-ASCII name (give IDNs in their xn-- form), a label that is
// empty, too long, or holds other than letters, digits, '-' and '_'.
func canonicalSAN(s string) (string, error) {
	c, why := canonicalForm(s)
	if why != "" {
		return "", fmt.Errorf("%q: %s", s, why)
	}
	return c, nil
}

// canonicalForm is canonicalSAN with the reason for a refusal apart.
func canonicalForm(s string) (string, string) {
	if ip := net.ParseIP(s); ip != nil {
		return ip.String(), ""
	}
	switch {
	case s == "":
		return "", "empty: not an IP address or DNS name"
	case strings.Contains(s, "%") && net.ParseIP(s[:strings.Index(s, "%")]) != nil:
		return "", "an IPv6 zone cannot be in a certificate: give the address without it"
	case strings.IndexFunc(s, func(r rune) bool { return r > unicode.MaxASCII }) >= 0:
		return "", "not ASCII: give an internationalised name in its xn-- form"
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	labels := strings.TrimPrefix(name, "*.")
	switch {
	case name == "*" || labels == "":
		return "", "a wildcard needs a domain after it, as in *.example.com"
	case strings.Contains(labels, "*"):
		return "", "a wildcard must be the whole leftmost label, as in *.example.com"
	case len(name) > 253:
		return "", "longer than 253 characters: not a DNS name"
	}
	for _, label := range strings.Split(labels, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.IndexFunc(label, func(r rune) bool { return !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) >= 0 {
			return "", "not an IP address or DNS name"
		}
	}
	return name, ""
}

// ParseSANList reads names for the server certificate in docker:dind's
// syntax, as DOCKER_TLS_SAN and -tls-san give them: entries separated by
// commas or spaces (empty ones skipped), each "DNS:name", "IP:address", or
// a bare name or address. It returns the hosts in canonical form
// (canonicalSAN), in order, without duplicates; the error names the first
// entry that is not an IP address or DNS name clients can match, or whose
// DNS: or IP: prefix does not fit its value.
func ParseSANList(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		h, err := parseSAN(e)
		if err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// parseSAN reads one entry of a SAN list: "DNS:name", "IP:address" (the
// prefixes in any case), or a bare name or address.
func parseSAN(e string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%q: %s", e, why) }
	kind, val, found := strings.Cut(e, ":")
	switch k := strings.ToUpper(kind); {
	case found && k == "IP":
		ip := net.ParseIP(val)
		if ip == nil {
			if _, why := canonicalForm(val); why == "" {
				return bad("not an IP address: give a DNS name as DNS:" + val)
			}
			return bad("not an IP address")
		}
		return ip.String(), nil
	case found && k == "DNS":
		if net.ParseIP(val) != nil {
			return bad("an IP address, which clients never match against a DNS name: give it as IP:" + val)
		}
		c, why := canonicalForm(val)
		if why != "" {
			return bad(why)
		}
		return c, nil
	case found && (k == "EMAIL" || k == "URI" || k == "RID" || k == "DIRNAME" || k == "OTHERNAME"):
		return bad("only DNS: and IP: entries name a server clients connect to")
	}
	c, why := canonicalForm(e)
	if why != "" {
		return bad(why)
	}
	return c, nil
}

// ServerHosts is what a server certificate must cover: the container's
// addresses, the loopback addresses, localhost, docker (the name CI services
// reach the engine by: GitLab's service alias, docker:dind's certificate),
// the hostname and the extra names, each in canonical form (canonicalSAN),
// de-duplicated and sorted. A name no client can match is left out
// (Validate refuses it in -tls-san).
func ServerHosts(addrs []net.IP, hostname string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h, err := canonicalSAN(strings.TrimSpace(h))
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
		if c, err := canonicalSAN(h); err == nil {
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

// sanList is ParseSANList for one -tls-san entry, which must name a host.
func sanList(entry string) ([]string, error) {
	hosts, err := ParseSANList(entry)
	if err == nil && len(hosts) == 0 {
		_, err = parseSAN(entry)
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
