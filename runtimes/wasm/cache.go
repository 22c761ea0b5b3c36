package wasm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The compile cache is wazero's file cache (one file of compiled code per
// module, under a directory per wazero version) plus an index of our own:
// modules/<sha256 of the module> names the file compiled from it, so that
// a module loaded from the cache marks its file as used (its modification
// time). After each compile, the least recently used files go until the
// cache fits its cap.

// DefaultCacheMax is the compile cache's default size cap (a Go guest of
// 7 MB compiles to about 14 MB).
const DefaultCacheMax = 512 << 20

const cacheIndex = "modules"

// CacheStats describes a compile cache.
type CacheStats struct {
	Dir     string // "" when the cache is off
	Entries int    // compiled modules
	Bytes   int64  // their size on disk
}

// CacheInfo describes the compile cache in cacheDir (as Config.CacheDir).
func CacheInfo(cacheDir string) (CacheStats, error) {
	st := CacheStats{Dir: resolveCacheDir(cacheDir)}
	if st.Dir == "" {
		return st, nil
	}
	entries, err := cacheEntries(st.Dir)
	for _, e := range entries {
		st.Entries++
		st.Bytes += e.size
	}
	return st, err
}

// CleanCache empties the compile cache in cacheDir and returns what it
// held. Workers running keep the code they loaded.
func CleanCache(cacheDir string) (CacheStats, error) {
	st, err := CacheInfo(cacheDir)
	if err != nil || st.Dir == "" {
		return st, err
	}
	names, err := os.ReadDir(st.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	for _, n := range names {
		if n.Name() == cacheIndex || strings.HasPrefix(n.Name(), "wazero-") {
			if err := os.RemoveAll(filepath.Join(st.Dir, n.Name())); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

type cacheEntry struct {
	name  string // relative to the cache directory
	size  int64
	mtime time.Time
}

// cacheEntries lists the compiled modules, temporary files left out.
func cacheEntries(dir string) ([]cacheEntry, error) {
	subs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []cacheEntry
	for _, sub := range subs {
		if !sub.IsDir() || !strings.HasPrefix(sub.Name(), "wazero-") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, sub.Name()))
		if err != nil {
			return out, err
		}
		for _, f := range files {
			if !f.Type().IsRegular() || strings.HasSuffix(f.Name(), ".tmp") {
				continue
			}
			info, err := f.Info()
			if err != nil {
				continue // removed meanwhile
			}
			out = append(out, cacheEntry{name: sub.Name() + "/" + f.Name(), size: info.Size(), mtime: info.ModTime()})
		}
	}
	return out, nil
}

func cacheFiles(dir string) map[string]bool {
	entries, _ := cacheEntries(dir)
	m := make(map[string]bool, len(entries))
	for _, e := range entries {
		m[e.name] = true
	}
	return m
}

func indexPath(dir string, bin []byte) string {
	sum := sha256.Sum256(bin)
	return filepath.Join(dir, cacheIndex, hex.EncodeToString(sum[:]))
}

// recordUse notes that the module bin compiled to the cache file name.
func recordUse(dir string, bin []byte, name string) {
	path := indexPath(dir, bin)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.WriteString(name)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// touchUse marks the cache file of the module bin as just used; false
// when the index does not know it.
func touchUse(dir string, bin []byte) bool {
	name, err := os.ReadFile(indexPath(dir, bin))
	if err != nil || !filepath.IsLocal(string(name)) {
		return false
	}
	now := time.Now()
	return os.Chtimes(filepath.Join(dir, string(name)), now, now) == nil
}

// trimCache removes the least recently used cache files, never keep,
// until the rest take max bytes at most, and the index lines of files
// gone. It returns how many files it removed.
func trimCache(dir string, max int64, keep string) (int, error) {
	entries, err := cacheEntries(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	slices.SortFunc(entries, func(a, b cacheEntry) int { return a.mtime.Compare(b.mtime) })
	removed := 0
	for _, e := range entries {
		if total <= max {
			break
		}
		if e.name == keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		total -= e.size
		removed++
	}
	if removed > 0 {
		pruneIndex(dir)
	}
	return removed, nil
}

// pruneIndex drops index files whose cache file is gone.
func pruneIndex(dir string) {
	idx := filepath.Join(dir, cacheIndex)
	names, err := os.ReadDir(idx)
	if err != nil {
		return
	}
	for _, n := range names {
		p := filepath.Join(idx, n.Name())
		name, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, string(name))); errors.Is(err, fs.ErrNotExist) || !filepath.IsLocal(string(name)) {
			os.Remove(p)
		}
	}
}
