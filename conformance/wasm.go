package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// Environment of a Wasm run: the hook in runtimes/js/node/cluster.js forks
// EnvWorker instead of a scenario's worker.js, and the Go guest reads
// EnvScenario to know which worker.js it plays. Workers inherit both from
// the primary's environment.
const (
	EnvWorker   = "ISOWASM_CONFORMANCE_WORKER"
	EnvScenario = "ISOWASM_CONFORMANCE_SCENARIO"
)

// GuestPackage is the import path of the conformance Go guest.
const GuestPackage = "github.com/isowasm/isowasm/conformance/wasm/guest"

const module = "github.com/isowasm/isowasm"

// workerReports is written by the JS workers themselves (files on process
// exit, _common/worker-harness.js): what a worker.js recorded about its own
// ClusterWorker. The Go guest has no filesystem, so it writes none.
var workerReports = []string{"workerReports"}

// guestVersions are the reference scenarios the Go guest plays, with the
// keys of extra not compared (README.md, "Wasm versions", says why), and
// the worker.js behaviours a guest cannot have.
var guestVersions = map[string]WasmVersion{
	"07-communicate":                 {Guest: true, Ignore: workerReports},
	"08-typed-routing":               {Guest: true},
	"09-untyped-unknown-ignored":     {Guest: true},
	"10-send-by-worker-id":           {Guest: true},
	"11-reject-invalid-destination":  {Guest: true},
	"12-early-send":                  {Guest: true},
	"13-multiple-workers":            {Guest: true},
	"14-listening":                   {Skip: "its worker listens with net.createServer(): a Wasm guest has no server sockets (no listen in the host ABI)"},
	"15-replace-dead-worker":         {Guest: true, Ignore: workerReports},
	"16-no-replace-after-shutdown":   {Guest: true, Ignore: workerReports},
	"17-round-robin":                 {Guest: true},
	"a-broadcast-ready-only":         {Guest: true, Ignore: workerReports},
	"b-send-mixed-array":             {Guest: true},
	"c-send-to-exited-worker":        {Guest: true, Ignore: workerReports},
	"d-worker-send-after-disconnect": {Guest: true, Ignore: workerReports},
}

// wasmVersion decides a scenario's Wasm version: its own worker.wasm, else
// the Go guest where it plays the scenario, else none.
func wasmVersion(sc *Scenario) WasmVersion {
	if !sc.HasWorker {
		return WasmVersion{Skip: "no worker.js (the primary forks itself, or nothing)"}
	}
	if _, err := fs.Stat(sc.files, "worker.wasm"); err == nil {
		return WasmVersion{Module: "worker.wasm"}
	}
	if v, ok := guestVersions[sc.Name]; ok {
		return v
	}
	return WasmVersion{Skip: "no Wasm version of its worker.js (add worker.wasm beside it)"}
}

// ErrNoGuestSource is a build of the Go guest with no isowasm source in
// reach.
var ErrNoGuestSource = errors.New("conformance: the Go guest's source is not in reach")

// BuildGuest compiles the conformance Go guest (wasm/guest) to
// dir/guest.wasm with the Go toolchain (GOOS=wasip1, -buildmode=c-shared)
// and returns its path. The source is the isowasm module around the
// current directory, else the module cache's copy of the version this
// binary was built from. The error says what to install or pass instead.
func BuildGuest(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("conformance: building the Go guest needs the Go toolchain (go1.24 or later, https://go.dev/dl), or pass a built one with --wasm-guest FILE: %w", err)
	}
	root, err := moduleRoot(ctx, goBin)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "guest.wasm")
	cmd := exec.CommandContext(ctx, goBin, "build", "-buildmode=c-shared", "-o", out, "./conformance/wasm/guest")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("conformance: building the Go guest in %s: %v\n%s", root, err, msg)
	}
	return out, nil
}

// moduleRoot finds the isowasm source: the module around the working
// directory, else the module cache's copy of this binary's version.
func moduleRoot(ctx context.Context, goBin string) (string, error) {
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
				if first, _, _ := strings.Cut(string(data), "\n"); strings.TrimSpace(first) == "module "+module {
					return dir, nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Path == module && strings.HasPrefix(info.Main.Version, "v") {
		cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", module+"@"+info.Main.Version)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var m struct{ Dir string }
		if out, err := cmd.Output(); err == nil && json.Unmarshal(out, &m) == nil && m.Dir != "" {
			return m.Dir, nil
		}
	}
	return "", fmt.Errorf("%w: run isowasm conformance inside a clone of %s, or pass a built guest with --wasm-guest FILE (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm ./conformance/wasm/guest)", ErrNoGuestSource, module)
}
