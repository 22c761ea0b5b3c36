package wasm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isowasm/isowasm/runtimes/wasm"
	"github.com/isowasm/isowasm/runtimes/wasm/wasmtest"
)

func writeModule(t *testing.T, name string, bin []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// peakRSS is this process's high-water mark of resident memory.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// TestHostileModules: modules built to exhaust the compiler are refused
// in one line that names the module and the limit, and this process (the
// primary) stays small.
func TestHostileModules(t *testing.T) {
	before := peakRSS(t)
	cases := []struct {
		name string
		bin  []byte
		cfg  wasm.PrepareConfig
		want string
	}{
		// 2^32-1 locals: wazero alone allocates them and dies.
		{"locals.wasm", wasmtest.Module([][]byte{wasmtest.Locals(1<<32 - 1)}), wasm.PrepareConfig{},
			"4294967295 locals in function 0, over the limit of 50000"},
		{"locals-groups.wasm", wasmtest.Module([][]byte{append(wasmtest.LEB(wasmtest.LEB(wasmtest.LEB([]byte{2}, 40000), 0x7f), 40000), 0x7e, 0x0b)}), wasm.PrepareConfig{},
			"80000 locals in function 0, over the limit of 50000"},
		// 100,000 nested blocks: over a minute of compiling.
		{"nested.wasm", wasmtest.Module([][]byte{wasmtest.Nested(100_000)}), wasm.PrepareConfig{},
			"10001 nested blocks in function 0, over the limit of 10000"},
		{"body.wasm", wasmtest.Module([][]byte{append(append([]byte{0}, bytes.Repeat([]byte{0x01}, 7_654_321)...), 0x0b)}), wasm.PrepareConfig{},
			"7654323 bytes in the body of function 0, over the limit of 7654321"},
		{"types.wasm", append(wasmtest.Header(), wasmtest.Section(1, wasmtest.LEB(nil, 1<<31))...), wasm.PrepareConfig{},
			"2147483648 types, over the limit of 1000000"},
		{"params.wasm", append(wasmtest.Header(), wasmtest.Section(1, append(wasmtest.LEB([]byte{1, 0x60}, 1001), append(bytes.Repeat([]byte{0x7f}, 1001), 0)...))...), wasm.PrepareConfig{},
			"1001 parameters in type 0, over the limit of 1000"},
		{"imports.wasm", append(wasmtest.Header(), wasmtest.Section(2, wasmtest.LEB(nil, 200_000))...), wasm.PrepareConfig{},
			"200000 imports, over the limit of 100000"},
		{"functions.wasm", append(wasmtest.Header(), wasmtest.Section(3, wasmtest.LEB(nil, 2_000_000))...), wasm.PrepareConfig{},
			"2000000 functions, over the limit of 1000000"},
		{"table.wasm", append(wasmtest.Header(), wasmtest.Section(4, wasmtest.LEB([]byte{1, 0x70, 0}, 20_000_000))...), wasm.PrepareConfig{},
			"20000000 initial table elements, over the limit of 10000000"},
		// Within every limit, but slow to compile: the time budget.
		{"slow.wasm", wasmtest.Module([][]byte{wasmtest.Nested(10_000), wasmtest.Nested(10_000), wasmtest.Nested(10_000), wasmtest.Nested(10_000), wasmtest.Nested(10_000), wasmtest.Nested(10_000)}),
			wasm.PrepareConfig{CacheDir: "off", CompileTimeout: 300 * time.Millisecond},
			"compiling took longer than 300ms (the compile time budget): refused"},
		// Within every limit, but hungry: the memory budget.
		{"hungry.wasm", wasmtest.Module([][]byte{wasmtest.Stack(1_500_000)}),
			wasm.PrepareConfig{CacheDir: "off", CompileMemory: 64 << 20},
			"compiling needed more than 64 MiB (the compile memory budget): refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeModule(t, c.name, c.bin)
			_, err := wasm.Prepare(context.Background(), path, c.cfg)
			if !errors.Is(err, wasm.ErrModule) {
				t.Fatalf("Prepare: %v, want a refusal", err)
			}
			want := "wasm: " + path + ": " + c.want
			if msg := err.Error(); msg != want {
				t.Errorf("error:\n %s\nwant\n %s", msg, want)
			}
		})
	}
	// At the limits, a guest is accepted.
	path := writeModule(t, "at-limits.wasm", wasmtest.Guest(1, [][]byte{wasmtest.Locals(50_000), wasmtest.Nested(10_000)}))
	if _, err := wasm.Prepare(context.Background(), path, wasm.PrepareConfig{CacheDir: "off"}); err != nil {
		t.Errorf("a guest at the limits: %v", err)
	}
	// A worker refuses what is over a limit the same way, before wazero.
	path = writeModule(t, "locals.wasm", wasmtest.Module([][]byte{wasmtest.Locals(1<<32 - 1)}))
	if code, err := wasm.Run(context.Background(), wasm.Config{Module: path, CacheDir: "off"}); code != 1 || !strings.Contains(fmt.Sprint(err), "over the limit of 50000") {
		t.Errorf("Run: %d, %v", code, err)
	}
	if grew := peakRSS(t) - before; grew > 256<<20 {
		t.Errorf("the test process's peak RSS grew by %d MiB refusing hostile modules", grew>>20)
	}
}

// TestPrepareMemoryLimit: a module whose initial memory is above the
// workers' limit is refused before any worker starts.
func TestPrepareMemoryLimit(t *testing.T) {
	_, err := wasm.Prepare(context.Background(), fixture("big_memory"), wasm.PrepareConfig{CacheDir: cacheDir, MemoryLimitPages: 2})
	var me *wasm.MemoryLimitError
	if !errors.As(err, &me) || me.MinPages != 4 || me.LimitPages != 2 {
		t.Fatalf("Prepare under a 2-page limit of a 4-page module: %v", err)
	}
	want := "wasm: " + fixture("big_memory") + ": declares 4 pages of 64 KiB of initial linear memory, above the memory limit of 2 pages of 64 KiB"
	if err.Error() != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
	if _, err := wasm.Prepare(context.Background(), fixture("big_memory"), wasm.PrepareConfig{CacheDir: cacheDir, MemoryLimitPages: 16}); err != nil {
		t.Errorf("Prepare under a 1 MiB limit: %v", err)
	}
}
