// Package san reads the names a server certificate is issued for (subject
// alternative names): docker:dind's DOCKER_TLS_SAN syntax and the canonical
// form clients match.
package san

import (
	"fmt"
	"net"
	"strings"
	"unicode"
)

// Check reports whether s can stand in a certificate's subject
// alternative names so that clients match it (see Canonical).
func Check(s string) error {
	_, err := Canonical(s)
	return err
}

// Canonical returns s as a subject alternative name in the form clients
// match it: an IP address in canonical form, or a DNS name lower-cased
// (matching ignores case) without its trailing dot (a dot in a SAN matches
// no name clients connect to). It refuses what no client can match: an empty
// name, a wildcard other than the whole leftmost label ("*.example.com"), an
// IPv6 zone, a non-ASCII name (give IDNs in their xn-- form), a label that is
// empty, too long, or holds other than letters, digits, '-' and '_'.
func Canonical(s string) (string, error) {
	c, why := canonical(s)
	if why != "" {
		return "", fmt.Errorf("%q: %s", s, why)
	}
	return c, nil
}

// canonical is Canonical with the reason for a refusal apart.
func canonical(s string) (string, string) {
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

// ParseList reads names for the server certificate in docker:dind's
// syntax, as DOCKER_TLS_SAN and -tls-san give them: entries separated by
// commas or spaces (empty ones skipped), each "DNS:name", "IP:address", or
// a bare name or address. It returns the hosts in canonical form
// (Canonical), in order, without duplicates; the error names the first
// entry that is not an IP address or DNS name clients can match, or whose
// DNS: or IP: prefix does not fit its value.
func ParseList(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		h, err := parseEntry(e)
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

// parseEntry reads one entry of a SAN list: "DNS:name", "IP:address" (the
// prefixes in any case), or a bare name or address.
func parseEntry(e string) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%q: %s", e, why) }
	kind, val, found := strings.Cut(e, ":")
	switch k := strings.ToUpper(kind); {
	case found && k == "IP":
		ip := net.ParseIP(val)
		if ip == nil {
			if _, why := canonical(val); why == "" {
				return bad("not an IP address: give a DNS name as DNS:" + val)
			}
			return bad("not an IP address")
		}
		return ip.String(), nil
	case found && k == "DNS":
		if net.ParseIP(val) != nil {
			return bad("an IP address, which clients never match against a DNS name: give it as IP:" + val)
		}
		c, why := canonical(val)
		if why != "" {
			return bad(why)
		}
		return c, nil
	case found && (k == "EMAIL" || k == "URI" || k == "RID" || k == "DIRNAME" || k == "OTHERNAME"):
		return bad("only DNS: and IP: entries name a server clients connect to")
	}
	c, why := canonical(e)
	if why != "" {
		return bad(why)
	}
	return c, nil
}
