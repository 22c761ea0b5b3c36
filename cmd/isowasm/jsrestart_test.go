package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A primary script's ClusterPrimary takes isowasm's restart policy as the
// `restart` option: a crash-looping worker backs off (doubling, capped) and
// is given up on after maxRestarts, with workerRestart/workerGiveUp events.
func TestPrimaryScriptRestartPolicy(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "worker.js"), "process.exit(3);\n")
	mustWrite(t, filepath.Join(dir, "primary.js"), `
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
const primary = _ClusterPrimary({
    restart: {backoff: 20, maxBackoff: 40, maxRestarts: 4, minUptime: 60000},
    workerScript: import.meta.dirname + '/worker.js'
});
primary.on('workerRestart', ({data: {delay, worker}}) => {
    console.log('restart ' + worker.id + ' in ' + delay);
});
primary.on('workerGiveUp', ({data: {restarts, worker}}) => {
    console.log('gave up after worker ' + worker.id + ' with ' + restarts + ' restarts');
    primary.destroy();
});
primary.fork();
`)
	r := start(t, "run", dir+"/primary.js")
	if code := r.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{
		"restart 1 in 0\n", "restart 2 in 20\n", "restart 3 in 40\n", "restart 4 in 40\n",
		"gave up after worker 5 with 4 restarts\n",
	} {
		if r.Stdout.Count(want) != 1 {
			t.Errorf("stdout lacks %q", want)
		}
	}
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
