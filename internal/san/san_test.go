package san

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // the canonical form; "" when refused
		reason   string // what the refusal says
	}{
		{"an IPv4 address is accepted", "10.0.0.1", "10.0.0.1", ""},
		{"an IPv6 address is accepted in canonical form", "FD00:0:0::1", "fd00::1", ""},
		{"an IPv4-mapped IPv6 address is the IPv4 address", "::ffff:10.0.0.1", "10.0.0.1", ""},
		{"a DNS name is accepted", "docker.example.com", "docker.example.com", ""},
		{"a DNS name is lower-cased, as clients match names", "Docker.EXAMPLE.com", "docker.example.com", ""},
		{"a trailing dot is dropped, as no client matches it in a SAN", "docker.example.com.", "docker.example.com", ""},
		{"a wildcard name is accepted", "*.Example.com.", "*.example.com", ""},
		{"an underscore is accepted, as Go clients match it", "my_host", "my_host", ""},
		{"an empty entry is refused", "", "", "empty"},
		{"a name with a space is refused", "my host", "", "not an IP address or DNS name"},
		{"a URL is refused", "https://example.com", "", "not an IP address or DNS name"},
		{"a label starting with a dash is refused", "-bad.example", "", "not an IP address or DNS name"},
		{"an empty label is refused", "a..example", "", "not an IP address or DNS name"},
		{"two trailing dots are refused", "example.com..", "", "not an IP address or DNS name"},
		{"a bare wildcard label with a dot is refused", "*.", "", "a wildcard needs a domain after it"},
		{"a bare wildcard is refused", "*", "", "a wildcard needs a domain after it"},
		{"a wildcard inside a label is refused", "a*.b", "", "a wildcard must be the whole leftmost label"},
		{"a wildcard in the second label is refused", "*.*.b", "", "a wildcard must be the whole leftmost label"},
		{"a wildcard not leftmost is refused", "a.*.b", "", "a wildcard must be the whole leftmost label"},
		{"a non-ASCII name is refused", "dïnv.example", "", "not ASCII"},
		{"an IPv6 zone is refused", "fe80::1%eth0", "", "an IPv6 zone cannot be in a certificate"},
		{"an IP in brackets is refused", "[::1]", "", "not an IP address or DNS name"},
		{"a label of 64 characters is refused", strings.Repeat("a", 64) + ".example", "", "not an IP address or DNS name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Canonical(c.in)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), c.reason) || !strings.Contains(err.Error(), strconv.Quote(c.in)) {
					t.Fatalf("Canonical(%q) = %q, %v; want an error naming it and saying %q", c.in, got, err, c.reason)
				}
			} else if err != nil || got != c.want {
				t.Fatalf("Canonical(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		wantErr  string // what the error says, the bad entry quoted in it
	}{
		{"docker:dind's syntax gives DNS names and IP addresses", "DNS:docker,IP:10.0.0.5",
			[]string{"docker", "10.0.0.5"}, ""},
		{"entries may be separated by spaces", "DNS:a.example IP:10.0.0.5  DNS:b.example",
			[]string{"a.example", "10.0.0.5", "b.example"}, ""},
		{"commas and spaces may be mixed, empty entries are skipped", " DNS:a.example, IP:10.0.0.5,,\tb.example ,",
			[]string{"a.example", "10.0.0.5", "b.example"}, ""},
		{"bare names and addresses are accepted", "docker.example,10.0.0.5,fd00::1",
			[]string{"docker.example", "10.0.0.5", "fd00::1"}, ""},
		{"an IPv6 address after IP: is accepted in canonical form", "IP:FD00:0::1,IP:::1",
			[]string{"fd00::1", "::1"}, ""},
		{"the prefixes may be in any case", "dns:A.Example,ip:10.0.0.5",
			[]string{"a.example", "10.0.0.5"}, ""},
		{"names are canonical and duplicates dropped", "DNS:Docker.,docker,IP:10.0.0.5,10.0.0.5",
			[]string{"docker", "10.0.0.5"}, ""},
		{"a wildcard DNS name is accepted", "DNS:*.example.com", []string{"*.example.com"}, ""},
		{"an empty list is no names", "", nil, ""},
		{"a list of separators is no names", " , ,", nil, ""},
		{"an IP: entry that is not an IP address is refused", "DNS:ok,IP:10.0.0.300", nil,
			`"IP:10.0.0.300": not an IP address`},
		{"an IP: entry holding a DNS name says to use DNS:", "IP:docker", nil,
			`"IP:docker": not an IP address: give a DNS name as DNS:docker`},
		{"a DNS: entry holding an IP address says to use IP:", "DNS:10.0.0.5", nil,
			`"DNS:10.0.0.5": an IP address, which clients never match against a DNS name: give it as IP:10.0.0.5`},
		{"an empty DNS: entry is refused", "DNS:", nil, `"DNS:": empty`},
		{"a DNS: entry with a bad wildcard is refused saying why", "DNS:a*.example", nil,
			`"DNS:a*.example": a wildcard must be the whole leftmost label`},
		{"an IP: entry with an IPv6 zone is refused", "IP:fe80::1%eth0", nil, `"IP:fe80::1%eth0": not an IP address`},
		{"an email: entry is refused: it names no server", "email:root@example.com", nil,
			`"email:root@example.com": only DNS: and IP: entries name a server clients connect to`},
		{"a URI: entry is refused", "URI:https://docker.example", nil, `"URI:https://docker.example": only DNS: and IP:`},
		{"an unknown prefix is not a name", "host:docker", nil, `"host:docker": not an IP address or DNS name`},
		{"a bare name no client matches is refused", "ok.example,a/b", nil, `"a/b": not an IP address or DNS name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseList(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseList(%q) = %q, %v; want an error saying %q", c.in, got, err, c.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseList(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}
