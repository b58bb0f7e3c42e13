// Package core is dinv's start-up framework: the Stage interface, the State
// the stages share, the Runner, the Catalogue of stages by name and the engine
// Profiles.
//
// Before any stage, internal/config resolves every source (dinv's flags, the
// environment, the engine's arguments, daemon.json) into State.Config, and
// cmd/dinv binds the engine's TCP sockets (State.Listeners). Then a start
// runs one ordered stage list, the profile's default or a YAML file's (S:
// skipped by -dry-run; the others write nothing under it):
//
//	dinv
//	├── privileges  what a Docker host needs, or one line why not    (State.GVisor)
//	├── network     addresses, hostname, MTU                        (State.Addrs, ...)
//	├── cgroups     writable cgroups for nested containers          S
//	├── mounts      securityfs, shared /                            S
//	├── iptables    legacy or nf_tables                               (State.EngineEnv, EngineFlags)
//	├── stale       pid files of a killed engine                    S
//	├── rootless    the rootless engine's user (DINV_ROOTLESS)      S (State.EngineUser)
//	├── storage     driver check and probe, data root               (State.StorageDriver)
//	├── pki         certificates kept, made or re-issued            (State.TLSFiles)
//	├── args        the engine's command line                       (State.Commands)
//	├── engine      start and supervise the engine                  S phase start (State.Engine)
//	├── ready       wait for /_ping, say how to connect             S phase running
//	└── swarm       create or join a Docker swarm                   S phase running
//
// Every stage before engine prepares (core.Prepare): the engine does not
// run yet. The engine stage starts it (core.Start); the stages after it need
// it running (core.Running) and their context ends with it.
//
// The list is resolved whole before anything runs (Catalogue.Resolve): unknown
// names, duplicates, missing prerequisites, phases out of order and bad
// configuration are reported together as one UsageError.
//
// The Runner then runs it, and watches the engine for the rest of dinv's life
// (Runner.Catch, Runner.Run): the first stop signal ends the stages' context
// (dinv exits 128+N if the engine has not started), and once the engine runs
// it gets every signal; when a stage fails with the engine running, the
// engine is stopped cleanly and dinv exits 1.
package core
