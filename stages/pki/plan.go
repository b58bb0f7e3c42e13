package pki

import (
	"fmt"
	"strings"

	"github.com/dinv/dinv/core"
)

// serverAction is what happens to the server pair (docker.crt and
// docker.key, server/cert.pem and server/key.pem).
type serverAction int

const (
	serverKeep       serverAction = iota // check and use them (maybe re-issue)
	serverFromCA                         // issue them from the CA pair
	serverSelfSigned                     // -tls, nothing present: self-signed
)

// plan is what the presence rules decide from which files exist.
type plan struct {
	newCA     bool // generate the CA pair
	loadCA    bool // read the CA certificate (and its key when present)
	server    serverAction
	newClient bool // issue the client pair
	// The dind layout: write server/ca.pem, client/ca.pem as copies of
	// the CA certificate (dinv owns the CA, the copy is missing or, found
	// by decide, does not hold it).
	copyServerCA, copyClientCA bool
	// replace are files present that are written anew, and why: in the
	// dind layout, client files left beside no CA.
	replace []string
	why     string
}

// planFor applies the presence rules of -tls and -tlsverify to the set of
// files present. It is pure: the files' contents are checked later.
//
//   - The server certificate without its key, or the reverse: an error, always.
//   - -tls: both present, use them; both absent, issue them from the CA
//     pair when both its files are there, else self-sign them. Nothing
//     else is read or written (no client files, no copies of the CA).
//   - -tlsverify: the flat rules (planFlat) or the dind rules (planDind).
func planFor(present map[string]bool, verify bool, lay layout) (plan, error) {
	if err := bothOrNeither(present, lay, lay.serverCert, lay.serverKey); err != nil {
		return plan{}, err
	}
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case verify && lay.name == layoutDind:
		return planDind(present, lay)
	case verify:
		return planFlat(present, lay)
	case hasServer:
		return plan{server: serverKeep, loadCA: hasCA && hasCAKey}, nil
	case hasCA && hasCAKey:
		return plan{server: serverFromCA, loadCA: true}, nil
	}
	// Both server files absent: self-signed (a -tls host needs no CA); a lone CA
	// certificate or key is left alone.
	return plan{server: serverSelfSigned}, nil
}

// planFlat is -tlsverify's rules for the six flat files: ca.crt +
// docker.crt + docker.key without ca-key.pem are the user's: use them,
// generate nothing. Nothing present: generate all six. ca.crt +
// ca-key.pem: issue whichever leaf pair is missing. Any other set is an
// error listing what is present and what is missing.
func planFlat(present map[string]bool, lay layout) (plan, error) {
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case none(present, lay):
		return plan{newCA: true, server: serverFromCA, newClient: true}, nil
	case hasCA && hasCAKey:
		if err := bothOrNeither(present, lay, lay.clientCert, lay.clientKey); err != nil {
			return plan{}, err
		}
		p := plan{loadCA: true, server: serverKeep, newClient: !present[lay.clientCert]}
		if !hasServer {
			p.server = serverFromCA
		}
		return p, nil
	case hasCA && hasServer && !hasCAKey:
		return plan{loadCA: true, server: serverKeep}, nil
	}
	return plan{}, incomplete(present, lay, "-tlsverify needs ca.crt + docker.crt + docker.key, or ca.crt + ca-key.pem to issue the rest from, or an empty directory to generate all six")
}

// planDind is -tlsverify's rules for docker:dind's layout, the flat ones
// with the CA's copies:
//
//   - Nothing present: generate all eight files.
//   - Nothing in ca/ or server/, but files in client/: they were left from
//     another CA (GitLab's runner keeps /certs/client between jobs, and
//     each job's docker:dind service starts without ca/): generate all eight
//     files, replacing them, as docker:dind does.
//   - ca/cert.pem + ca/key.pem (dinv owns the CA): issue whichever leaf pair
//     is missing, and copy ca/cert.pem to server/ca.pem and client/ca.pem
//     where they are missing. The rest is used as it is, unless decide finds
//     it does not chain to the CA: then it is written anew too.
//   - server/ca.pem + server/cert.pem + server/key.pem without ca/key.pem:
//     the user's certificates, used as they are; client/ holds all three
//     of its files or none; ca/cert.pem is left alone. Nothing is written.
//   - Any other set (a pair without its other half, ca/key.pem without
//     ca/cert.pem, ...): an error listing what is present and missing.
func planDind(present map[string]bool, lay layout) (plan, error) {
	all := plan{newCA: true, server: serverFromCA, newClient: true, copyServerCA: true, copyClientCA: true}
	if left := presentOf(present, lay.clientCA, lay.clientCert, lay.clientKey); len(left) > 0 &&
		len(presentOf(present, lay.caCert, lay.caKey, lay.serverCA, lay.serverCert, lay.serverKey)) == 0 {
		all.replace, all.why = left, "ca/ is absent: client/ is left from another CA (a kept client volume, "+
			"as GitLab's runner keeps /certs/client between jobs); a new CA issues every file, as docker:dind does"
		return all, nil
	}
	if err := bothOrNeither(present, lay, lay.clientCert, lay.clientKey); err != nil {
		return plan{}, err
	}
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case none(present, lay):
		return all, nil
	case hasCA && hasCAKey:
		p := plan{loadCA: true, server: serverKeep, newClient: !present[lay.clientCert],
			copyServerCA: !present[lay.serverCA], copyClientCA: !present[lay.clientCA]}
		if !hasServer {
			p.server = serverFromCA
		}
		return p, nil
	case !hasCAKey && hasServer && present[lay.serverCA]:
		if present[lay.clientCA] != present[lay.clientCert] {
			return plan{}, incomplete(present, lay, "client/ca.pem, client/cert.pem and client/key.pem go together: "+
				"without ca/key.pem dinv issues nothing, so client/ holds your client bundle or nothing")
		}
		return plan{server: serverKeep}, nil
	}
	return plan{}, incomplete(present, lay, "DOCKER_TLS_CERTDIR needs ca/cert.pem + ca/key.pem to issue the rest from, "+
		"or server/ca.pem + server/cert.pem + server/key.pem (your certificates, used as they are), or an empty directory to generate all eight")
}

// presentOf is those of names that are present, in order.
func presentOf(present map[string]bool, names ...string) []string {
	var out []string
	for _, n := range names {
		if present[n] {
			out = append(out, n)
		}
	}
	return out
}

// none reports whether none of the layout's files is present.
func none(present map[string]bool, lay layout) bool {
	for _, f := range lay.files {
		if present[f] {
			return false
		}
	}
	return true
}

func bothOrNeither(present map[string]bool, lay layout, a, b string) error {
	if present[a] != present[b] {
		return incomplete(present, lay, fmt.Sprintf("%s and %s go together", a, b))
	}
	return nil
}

// incomplete is the error for a partial set: what is present, what is missing.
func incomplete(present map[string]bool, lay layout, rule string) error {
	var have, miss []string
	for _, f := range lay.files {
		if present[f] {
			have = append(have, f)
		} else {
			miss = append(miss, f)
		}
	}
	return core.Usagef("incomplete certificate set: present %s; missing %s (%s)",
		strings.Join(have, ", "), strings.Join(miss, ", "), rule)
}
