// Package pki is the certificate stage: it checks the TLS files a user brings
// in the certificate directory, or generates the missing ones, and tells the
// argument builder which files the engine serves TLS with.
//
// The directory has one of two layouts (core.Config.CertLayout). The flat
// one holds up to six files, named as in the original DinV:
//
//	ca.crt             CA certificate: clients are verified against it (-tlsverify)
//	ca-key.pem         CA key: present only when dinv owns the CA
//	docker.crt         server certificate
//	docker.key         server key
//	docker-client.crt  client certificate, for the users' docker CLI
//	docker-client.key  client key
//
// docker:dind's (DOCKER_TLS_CERTDIR) holds up to eight, in three
// subdirectories, as docker:dind documents them:
//
//	ca/cert.pem      CA certificate
//	ca/key.pem       CA key: present only when dinv owns the CA
//	server/ca.pem    a copy of the CA certificate: clients are verified against it
//	server/cert.pem  server certificate
//	server/key.pem   server key
//	client/ca.pem    a copy of the CA certificate, for the users' docker CLI
//	client/cert.pem  client certificate (client/ is DOCKER_CERT_PATH)
//	client/key.pem   client key
//
// client/ never holds a key other than the client's, so that a CI job can be
// given client/ alone.
//
// Ensure holds the rules; the stage (stage.go) is a thin adapter over it, and
// NewCA / IssueServer / IssueClient mint certificates for other packages' tests.
package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The certificate directory's file names.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "docker.crt"
	ServerKeyFile  = "docker.key"
	ClientCertFile = "docker-client.crt"
	ClientKeyFile  = "docker-client.key"
)

// DockerName is the name every server certificate dinv issues covers: the
// network alias CI services give the engine.
const DockerName = "docker"

// allFiles is the order files are reported and written in.
var allFiles = []string{CACertFile, CAKeyFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile}

// Lifetimes of generated certificates, and when a server certificate dinv
// can re-issue is renewed.
const (
	CAYears        = 10
	LeafDays       = 825
	RenewBefore    = 30 * 24 * time.Hour
	backdate       = time.Hour // NotBefore margin for clocks a little behind
	minRSABits     = 2048
	defaultRSABits = 2048
)

// KeySpec is the kind of key generated: ECDSA P-256, or RSA of Bits bits.
type KeySpec struct {
	RSA  bool
	Bits int
}

func (k KeySpec) String() string {
	if k.RSA {
		return "rsa" + strconv.Itoa(k.Bits)
	}
	return "ecdsa-p256"
}

// ParseKeyType reads -key-type: "ecdsa" (or "", the default), "rsa" (2048
// bits), "rsa2048" or "rsa3072".
func ParseKeyType(s string) (KeySpec, error) {
	switch strings.ToLower(s) {
	case "", "ecdsa", "ecdsa-p256", "p256":
		return KeySpec{}, nil
	case "rsa", "rsa2048":
		return KeySpec{RSA: true, Bits: 2048}, nil
	case "rsa3072":
		return KeySpec{RSA: true, Bits: 3072}, nil
	}
	return KeySpec{}, fmt.Errorf("-key-type %q: want ecdsa, rsa, rsa2048 or rsa3072", s)
}

// CheckSAN reports whether s can stand in a certificate's subject
// alternative names so that clients match it (see CanonicalSAN).
func CheckSAN(s string) error {
	_, err := CanonicalSAN(s)
	return err
}

// CanonicalSAN returns s as a subject alternative name in the form clients
// match it: an IP address in canonical form, or a DNS name lower-cased
// (matching ignores case) without its trailing dot (a dot in a SAN matches
// no name clients connect to). It refuses what no client can match: an empty
// name, a wildcard other than the whole leftmost label ("*.example.com"), an
// IPv6 zone, a non-ASCII name (give IDNs in their xn-- form), a label that is
// empty, too long, or holds other than letters, digits, '-' and '_'.
func CanonicalSAN(s string) (string, error) {
	c, why := canonicalSAN(s)
	if why != "" {
		return "", fmt.Errorf("%q: %s", s, why)
	}
	return c, nil
}

// canonicalSAN is CanonicalSAN with the reason for a refusal apart.
func canonicalSAN(s string) (string, string) {
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
// (CanonicalSAN), in order, without duplicates; the error names the first
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
			if _, why := canonicalSAN(val); why == "" {
				return bad("not an IP address: give a DNS name as DNS:" + val)
			}
			return bad("not an IP address")
		}
		return ip.String(), nil
	case found && k == "DNS":
		if net.ParseIP(val) != nil {
			return bad("an IP address, which clients never match against a DNS name: give it as IP:" + val)
		}
		c, why := canonicalSAN(val)
		if why != "" {
			return bad(why)
		}
		return c, nil
	case found && (k == "EMAIL" || k == "URI" || k == "RID" || k == "DIRNAME" || k == "OTHERNAME"):
		return bad("only DNS: and IP: entries name a server clients connect to")
	}
	c, why := canonicalSAN(e)
	if why != "" {
		return bad(why)
	}
	return c, nil
}

// ServerHosts is what a server certificate must cover: the container's
// addresses, the loopback addresses, localhost, docker (the name CI services
// reach the engine by: GitLab's service alias, docker:dind's certificate),
// the hostname and the extra names, each in canonical form (CanonicalSAN),
// de-duplicated and sorted. A name no client can match is left out
// (Validate refuses it in -tls-san).
func ServerHosts(addrs []net.IP, hostname string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h, err := CanonicalSAN(strings.TrimSpace(h))
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
	for _, h := range append([]string{"127.0.0.1", "::1", "localhost", DockerName, hostname}, extra...) {
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
		if c, err := CanonicalSAN(h); err == nil {
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
