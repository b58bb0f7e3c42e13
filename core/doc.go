// Package core is dinv's start-up framework: the Stage interface, the State
// the stages share, the Runner, the Catalogue of stages by name and the engine
// Profiles.
//
// A start runs one ordered stage list, the profile's default or a YAML file's:
//
//	dinv
//	├── network   addresses, hostname, MTU              (State.Addrs, ...)
//	├── cgroups   writable cgroups for nested containers (skipped by -dry-run)
//	├── mounts    securityfs, shared /                  (skipped by -dry-run)
//	├── iptables  legacy or nf_tables                   (State.EngineEnv, skipped by -dry-run)
//	├── stale     pid files of a killed engine          (skipped by -dry-run)
//	├── storage   driver check and probe, data root     (State.StorageDriver)
//	├── pki       certificates kept, made or re-issued  (State.TLSFiles)
//	├── args      the engine's command line             (State.Commands)
//	├── engine    start and supervise the engine        (State.Engine, skipped by -dry-run)
//	└── ready     wait for /_ping, say how to connect   (skipped by -dry-run)
//
// The list is resolved whole before anything runs (Catalogue.Resolve): unknown
// names, duplicates, missing prerequisites and bad configuration are reported
// together as one UsageError. -dry-run skips the DryRunSkippers; the other stages write nothing under it.
package core
