// Command privileges prints, one per line, the docker run options that give a
// DinV container of IMAGE what it needs on this machine's engine, found by the
// harness's probe (harness.Probe): --privileged where the engine grants it,
// else the documented explicit set. What the engine refused goes to stderr.
//
//	mapfile -t priv < <(go run ./test/harness/cmd/privileges dinv); docker run "${priv[@]}" ...
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/dinv/dinv/test/harness"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: privileges IMAGE")
		os.Exit(2)
	}
	harness.Suite = "privileges" // the label of the probe's (--rm) containers
	p, err := harness.Probe(os.Args[1])
	for _, r := range p.Refused {
		fmt.Fprintln(os.Stderr, "privileges: refused:", r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "privileges:", err)
		os.Exit(1)
	}
	for _, o := range p.Options {
		fmt.Println(o)
	}
}
