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
)

// Hostile modules, written byte by byte so that the tests need no tool.

func leb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	return append(leb([]byte{id}, uint64(len(body))), body...)
}

// module is a module of functions of type () -> (), with these bodies
// (each without its size); extra sections go before the code section.
func module(bodies [][]byte, extra ...[]byte) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = append(b, section(1, []byte{1, 0x60, 0, 0})...)
	funcs := leb(nil, uint64(len(bodies)))
	for range bodies {
		funcs = append(funcs, 0)
	}
	b = append(b, section(3, funcs)...)
	for _, x := range extra {
		b = append(b, x...)
	}
	code := leb(nil, uint64(len(bodies)))
	for _, body := range bodies {
		code = append(leb(code, uint64(len(body))), body...)
	}
	return append(b, section(10, code)...)
}

// localsBody declares n i32 locals.
func localsBody(n uint64) []byte {
	return append(leb([]byte{1}, n), 0x7f, 0x0b)
}

// nestedBody nests n empty blocks.
func nestedBody(n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x02, 0x40}, n)...)
	b = append(b, bytes.Repeat([]byte{0x0b}, n)...)
	return append(b, 0x0b)
}

// stackBody pushes n constants, then drops them: a valid function whose
// compile takes memory in proportion.
func stackBody(n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x41, 0x00}, n)...)
	b = append(b, bytes.Repeat([]byte{0x1a}, n)...)
	return append(b, 0x0b)
}

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
		{"locals.wasm", module([][]byte{localsBody(1<<32 - 1)}), wasm.PrepareConfig{},
			"4294967295 locals in function 0, over the limit of 50000"},
		{"locals-groups.wasm", module([][]byte{append(leb(leb(leb([]byte{2}, 40000), 0x7f), 40000), 0x7e, 0x0b)}), wasm.PrepareConfig{},
			"80000 locals in function 0, over the limit of 50000"},
		// 100,000 nested blocks: over a minute of compiling.
		{"nested.wasm", module([][]byte{nestedBody(100_000)}), wasm.PrepareConfig{},
			"10001 nested blocks in function 0, over the limit of 10000"},
		{"body.wasm", module([][]byte{append(append([]byte{0}, bytes.Repeat([]byte{0x01}, 7_654_321)...), 0x0b)}), wasm.PrepareConfig{},
			"7654323 bytes in the body of function 0, over the limit of 7654321"},
		{"types.wasm", append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, section(1, leb(nil, 1<<31))...), wasm.PrepareConfig{},
			"2147483648 types, over the limit of 1000000"},
		{"params.wasm", append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, section(1, append(leb([]byte{1, 0x60}, 1001), append(bytes.Repeat([]byte{0x7f}, 1001), 0)...))...), wasm.PrepareConfig{},
			"1001 parameters in type 0, over the limit of 1000"},
		{"imports.wasm", append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, section(2, leb(nil, 200_000))...), wasm.PrepareConfig{},
			"200000 imports, over the limit of 100000"},
		{"functions.wasm", append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, section(3, leb(nil, 2_000_000))...), wasm.PrepareConfig{},
			"2000000 functions, over the limit of 1000000"},
		{"table.wasm", append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, section(4, leb([]byte{1, 0x70, 0}, 20_000_000))...), wasm.PrepareConfig{},
			"20000000 initial table elements, over the limit of 10000000"},
		// Within every limit, but slow to compile: the time budget.
		{"slow.wasm", module([][]byte{nestedBody(10_000), nestedBody(10_000), nestedBody(10_000), nestedBody(10_000), nestedBody(10_000), nestedBody(10_000)}),
			wasm.PrepareConfig{CacheDir: "off", CompileTimeout: 300 * time.Millisecond},
			"compiling took longer than 300ms (the compile time budget): refused"},
		// Within every limit, but hungry: the memory budget.
		{"hungry.wasm", module([][]byte{stackBody(1_500_000)}),
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
	// A worker refuses what is over a limit the same way, before wazero.
	path := writeModule(t, "locals.wasm", module([][]byte{localsBody(1<<32 - 1)}))
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
