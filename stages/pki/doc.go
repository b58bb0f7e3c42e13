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
// Ensure (ensure.go) holds the rules; the stage (stage.go) is a thin adapter
// over it. Ensure's jobs, one file each, in the order they run:
//
//	plan.go     which files must exist, from which are present (pure)
//	decide.go   reading what is there and judging it (check.go: parsing and
//	            the verifier's rule); what to keep, write or re-issue
//	mint.go     making what the decision calls for, in memory, each
//	            certificate verified as its peers will verify it
//	commit.go   under the directory's lock: deciding again, then writing every
//	            file whole (journal.go: all or nothing across files)
//
// issue.go mints certificates, san.go reads the names they cover, layout.go
// names the files, bundle.go writes the client bundle for -client-bundle.
package pki
