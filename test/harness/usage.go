package harness

import "strings"

// VICUsage is the usage block of Docker-in-VIC, DinV's ancestor, whose
// command line dinv keeps: dinv's usage holds each entry verbatim and in this
// order (its other flags may stand among them).
var VICUsage = []string{
	"  -insecure-registry string\n    \tEnable insecure registry communication\n",
	"  -local\n    \tDo not bind API to external interfaces\n",
	"  -storage string\n    \tStorage driver to use (default \"overlay2\")\n",
	"  -tls\n    \tUse TLS; implied by --tlsverify. Certs are generated automatically if not available\n",
	"  -tlsverify\n    \tUse TLS and verify the remote. Certs are generated automatically if not available\n",
}

// MissingVICUsage returns the first entry of VICUsage that usage lacks or
// holds out of order, "" when it holds them all.
func MissingVICUsage(usage string) string {
	at := 0
	for _, entry := range VICUsage {
		i := strings.Index(usage[at:], entry)
		if i < 0 {
			return entry
		}
		at += i + len(entry)
	}
	return ""
}
