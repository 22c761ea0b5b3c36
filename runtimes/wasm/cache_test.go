package wasm_test

import (
	"context"
	"testing"

	"github.com/isowasm/isowasm/runtimes/wasm"
)

// TestCacheLRU: the cache keeps what was used last and evicts the least
// recently used module when a compile takes it past its cap; info and
// clean see the same entries.
func TestCacheLRU(t *testing.T) {
	dir := t.TempDir()
	prepare := func(path string, max int64) wasm.Prepared {
		t.Helper()
		p, err := wasm.Prepare(context.Background(), path, wasm.PrepareConfig{CacheDir: dir, CacheMax: max})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	info := func() wasm.CacheStats {
		t.Helper()
		st, err := wasm.CacheInfo(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// The size each module takes in the cache, learned in a cache of its own.
	sizeOf := func(path string) int64 {
		t.Helper()
		own := t.TempDir()
		if _, err := wasm.Prepare(context.Background(), path, wasm.PrepareConfig{CacheDir: own}); err != nil {
			t.Fatal(err)
		}
		st, err := wasm.CacheInfo(own)
		if err != nil || st.Entries != 1 {
			t.Fatalf("cache of one module: %+v, %v", st, err)
		}
		return st.Bytes
	}
	wat, c, echo, big := watGuest(t), cGuest(t), fixture("echo"), fixture("big_memory")

	if p := prepare(wat, 0); !p.Compiled || !p.Cached {
		t.Fatalf("first compile: %+v", p)
	}
	if p := prepare(wat, 0); p.Compiled || !p.Cached {
		t.Fatalf("second time: %+v, want it loaded from the cache", p)
	}
	prepare(c, 0)
	prepare(echo, 0)
	// wat was used last but two: using it again makes c the least recent.
	prepare(wat, 0)
	if st := info(); st.Entries != 3 || st.Dir != dir {
		t.Fatalf("info: %+v, want 3 entries in %s", st, dir)
	}
	// Room for three: adding a fourth evicts c, and only c.
	max := sizeOf(wat) + sizeOf(echo) + sizeOf(big)
	if p := prepare(big, max); !p.Compiled {
		t.Fatalf("big_memory: %+v", p)
	}
	if st := info(); st.Entries != 3 || st.Bytes > max {
		t.Fatalf("after eviction: %+v, want 3 entries within %d bytes", st, max)
	}
	for _, kept := range []string{wat, echo, big} {
		if p := prepare(kept, -1); p.Compiled {
			t.Errorf("%s was evicted", kept)
		}
	}
	if p := prepare(c, -1); !p.Compiled {
		t.Errorf("%s, the least recently used, is still cached", c)
	}

	before := info()
	removed, err := wasm.CleanCache(dir)
	if err != nil || removed != before {
		t.Fatalf("clean: %+v, %v; want %+v", removed, err, before)
	}
	if st := info(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("after clean: %+v", st)
	}
	if p := prepare(echo, 0); !p.Compiled || !p.Cached {
		t.Fatalf("compile after clean: %+v", p)
	}
}

// A cache that is off has no entries and nothing to clean.
func TestCacheOff(t *testing.T) {
	st, err := wasm.CacheInfo("off")
	if err != nil || st != (wasm.CacheStats{}) {
		t.Fatalf("info: %+v, %v", st, err)
	}
	p, err := wasm.Prepare(context.Background(), fixture("echo"), wasm.PrepareConfig{CacheDir: "off"})
	if err != nil || !p.Compiled || p.Cached {
		t.Fatalf("Prepare without a cache: %+v, %v", p, err)
	}
}
