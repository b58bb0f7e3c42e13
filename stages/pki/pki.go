// Package pki is the certificate stage: it checks the TLS files a user brings
// in the certificate directory, or generates the missing ones, and tells the
// argument builder which files the engine serves TLS with.
//
// The directory holds up to six files, named as in the original DinV:
//
//	ca.crt             CA certificate: clients are verified against it (-tlsverify)
//	ca-key.pem         CA key: present only when dinv owns the CA
//	docker.crt         server certificate
//	docker.key         server key
//	docker-client.crt  client certificate, for the users' docker CLI
//	docker-client.key  client key
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

// CheckSAN reports whether s can stand in a certificate's subject alternative
// names: an IP address or a DNS name (a leading "*." wildcard allowed).
func CheckSAN(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	name := strings.TrimPrefix(s, "*.")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("%q: not an IP address or DNS name", s)
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q: not an IP address or DNS name", s)
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return fmt.Errorf("%q: not an IP address or DNS name", s)
			}
		}
	}
	return nil
}

// ServerHosts is what a server certificate must cover: the container's
// addresses, the loopback addresses, localhost, the hostname and the extra
// names, de-duplicated (IPs in canonical form) and sorted.
func ServerHosts(addrs []net.IP, hostname string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, a := range addrs {
		if a != nil {
			add(a.String())
		}
	}
	for _, h := range append([]string{"127.0.0.1", "::1", "localhost", hostname}, extra...) {
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
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
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
