// Package harness runs DinV containers on the machine's Docker engine for the
// end-to-end, benchmark and reliability suites: it probes the privileges the
// engine grants, starts DinV containers, waits until their engine answers
// GET /_ping from outside, runs the real docker CLI against them, copies files,
// loads images into them and removes everything it made when the test ends.
//
// What a killed run could not remove, the next run of the same suite does:
// every container, volume and network made on the machine's engine is
// labelled org.dinv.test=SUITE (and org.dinv.test.run with the process that
// made it; see Labels, BeginSuite), and the suites that run dinv and dockerd
// on the host list their directories, bridges and network namespaces in a
// HostRecord. Only runs that are over are cleaned up after: a run of the same
// suite going on beside (a developer's, CI's) keeps its objects.
//
// For the suites that run the real dinv on the host (integration,
// reliability) it builds dinv (OpenHostSuite, BuildDinv; Build for any
// command of the module) and runs it in a directory of its own with a free
// port and a bridge of its own (HostDinv: Start and WaitLine for a long run,
// Run for one that should end by itself). Unit tests anywhere in the module
// share its small helpers (Buffer, FreePort, VICUsage); it imports nothing of
// dinv's, so that core and the stages can import it in their tests without a
// cycle.
//
// Nothing here needs an engine until it is called: the package's own unit tests
// run anywhere.
package harness
