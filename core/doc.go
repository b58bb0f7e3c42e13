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
//	├── engine      start and supervise the engine                  S (State.Engine, Exec)
//	├── ready       wait for /_ping, say how to connect             S (State.ReadyAt)
//	└── swarm       create or join a Docker swarm                   S
//	                (after ready: the engine answers, the stage's context
//	                ends with it; State.Exec runs such stages' programs)
//
// The list is resolved whole before anything runs (Catalogue.Resolve): unknown
// names, duplicates, missing prerequisites and bad configuration are reported
// together as one UsageError.
//
// The Runner then runs it, and watches the engine for the rest of dinv's life
// (Runner.Catch, Runner.Run): the first stop signal ends the stages' context
// (dinv exits 128+N if the engine has not started), and once the engine runs
// it gets every signal; when its life ends, by a stop signal, its own exit or
// a failed stage, the stop hooks (Stopper) run in reverse list order, before
// the engine is told to stop when there is still an engine to tell.
package core
