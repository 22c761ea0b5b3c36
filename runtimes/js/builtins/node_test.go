// Package builtins holds the isotropic-* modules that isowasm serves to
// scripts (plain ESM, embedded by runtimes/js). This Go test runs their own
// test suite under Node, which also checks them against the reference
// scenarios with the real node:cluster.
package builtins

import (
	"os/exec"
	"testing"
)

func TestUnderNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js 20 or later (apt-get install nodejs) to check the built-ins against Node")
	}
	if testing.Short() {
		t.Skip("-short: the Node suite takes half a minute")
	}
	out, err := exec.Command(node, "--test", "test/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/: %v\n%s", err, out)
	}
	t.Logf("%s", out[max(0, len(out)-400):])
}
