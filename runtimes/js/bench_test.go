package js

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const benchScript = `
import make from 'isotropic-make';
import pubsub from 'isotropic-pubsub';
import fs from 'node:fs';
import path from 'node:path';
const C = make(pubsub, {});
new C();
if (typeof fs.readFileSync !== 'function' || !path.join) throw new Error('x');
`

// BenchmarkStartup measures a worker's start to exit for a small script
// with the isotropic built-ins: bundling without a cache (cold), with the
// bundle cached (warm), and the phases apart.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "main.mjs")
	if err := os.WriteFile(script, []byte(benchScript), 0o644); err != nil {
		b.Fatal(err)
	}
	runWith := func(b *testing.B, cache string) {
		for b.Loop() {
			code, err := Run(context.Background(), Config{Script: script, Stdout: io.Discard, Stderr: os.Stderr, CacheDir: cache})
			if code != 0 || err != nil {
				b.Fatal(code, err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) { runWith(b, "off") })
	cache := b.TempDir()
	b.Run("warm", func(b *testing.B) { runWith(b, cache) })
	b.Run("bundle", func(b *testing.B) {
		for b.Loop() {
			if _, err := build(script); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache-read", func(b *testing.B) {
		for b.Loop() {
			if _, err := load(script, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
	bun, _ := build(script)
	b.Logf("bundle: %d bytes", len(bun.Code))
	b.Run("compile", func(b *testing.B) {
		for b.Loop() {
			if _, err := compile(script, bun); err != nil {
				b.Fatal(err)
			}
		}
	})
	prg, _ := compile(script, bun)
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			r := newRuntime(Config{Script: script, Stdout: io.Discard, Stderr: io.Discard}, time.Now())
			if code, err := r.run(context.Background(), prg, bun.ESM); code != 0 || err != nil {
				b.Fatal(code, err)
			}
		}
	})
}
