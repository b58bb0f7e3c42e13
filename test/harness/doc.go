// Package harness runs DinV containers on the machine's Docker engine for the
// end-to-end, benchmark and reliability suites: it probes the privileges the
// engine grants, starts DinV containers, waits until their engine answers
// GET /_ping from outside, runs the real docker CLI against them, copies files,
// loads images into them and removes everything it made when the test ends.
//
// Nothing here needs an engine until it is called: the package's own unit tests
// run anywhere.
package harness
