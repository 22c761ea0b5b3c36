package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// PrepareConfig says how Prepare checks and compiles a module. The zero
// value of each field means its default.
type PrepareConfig struct {
	// CacheDir is as Config.CacheDir.
	CacheDir string
	// CacheMax caps the cache's size in bytes: after a compile, the least
	// recently used entries go until the rest fit. 0 is DefaultCacheMax;
	// negative: no cap.
	CacheMax int64
	// MemoryLimitPages is the workers' Config.MemoryLimitPages: a module
	// that declares a larger minimum is refused with a *MemoryLimitError.
	MemoryLimitPages uint32
	// Progress receives a line when a compile takes longer than half a
	// second: "isowasm: compiling worker.wasm (6.9 MB)… done in 2.9 s, cached".
	Progress io.Writer
	// CompileTimeout bounds the compile; 0 is 30 s and 5 s per MB of module
	// (a Go guest of 7 MB compiles in about 3 s on an idle core).
	CompileTimeout time.Duration
	// CompileMemory bounds what the compiling process may allocate, in
	// bytes; 0 is 1 GiB and 64 times the module's size (a Go guest of 5.5 MB
	// peaks at about 100 MB).
	CompileMemory int64
	// Executable is the binary that compiles, re-run in a hidden mode that
	// CompileMain serves (worker.Main does); "" is this executable.
	Executable string
}

// Prepared says what Prepare did.
type Prepared struct {
	Size     int64         // the module's size in bytes
	Compiled bool          // it was compiled now, not loaded from the cache
	Cached   bool          // its compiled code is in the cache for workers to load
	Took     time.Duration // checking and compiling, or loading
}

// MemoryLimitError is the Err of the *ModuleError for a module whose
// declared initial memory is above the workers' memory limit.
type MemoryLimitError struct {
	MinPages, LimitPages uint64
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("declares %s of initial linear memory, above the memory limit of %s", pagesText(e.MinPages), pagesText(e.LimitPages))
}

func pagesText(pages uint64) string {
	if pages%16 == 0 {
		return fmt.Sprintf("%d MiB", pages/16)
	}
	return fmt.Sprintf("%d pages of 64 KiB", pages)
}

// progressAfter is how long a compile runs before Prepare says so.
const progressAfter = 500 * time.Millisecond

// Prepare checks a module before any worker runs it and leaves its
// compiled code in the cache, so that workers load it instead of each
// compiling it. Untrusted bytes cannot take the calling process down: a
// child process (this binary, re-run) reads the module, checks it against
// browsers' limits, then compiles it under a time and memory budget. A
// refused module is a *ModuleError, one line naming the module and the
// limit, missing export, unknown import, wrong ABI version or corruption.
func Prepare(ctx context.Context, path string, cfg PrepareConfig) (Prepared, error) {
	start := time.Now()
	// The module's bytes are read in the child only: the primary holds
	// none of them, however large.
	st, err := os.Stat(path)
	if err != nil {
		return Prepared{}, &ModuleError{Path: path, Problem: "cannot read the module: " + errText(err), Err: err}
	}
	p := Prepared{Size: st.Size()}
	if err := checkSize(path, st.Size()); err != nil {
		return p, err
	}
	var done func(ok bool, p Prepared)
	if cfg.Progress != nil {
		done = progress(cfg.Progress, path, p.Size, start)
	}
	req := compileRequest{Path: path, CacheDir: cfg.CacheDir, CacheMax: cfg.CacheMax, MemoryLimitPages: cfg.MemoryLimitPages}
	var res compileResult
	if os.Getenv(envCompile) != "" {
		// Already the compiling child (a binary whose main does not serve
		// CompileMain would otherwise re-run itself for ever).
		res = compileHere(ctx, req)
	} else {
		res = compileInChild(ctx, req, p.Size, cfg)
	}
	p.Compiled, p.Cached, p.Took = res.Compiled, res.Cached, time.Since(start)
	if done != nil {
		done(res.Problem == "", p)
	}
	if res.Problem != "" {
		me := &ModuleError{Path: path, Problem: res.Problem}
		if res.MinPages > 0 {
			me.Err = &MemoryLimitError{MinPages: res.MinPages, LimitPages: res.LimitPages}
		}
		return p, me
	}
	return p, nil
}

// progress prints the first half of the progress line once the compile
// has taken progressAfter, and returns what prints the rest.
func progress(w io.Writer, path string, size int64, start time.Time) func(bool, Prepared) {
	var (
		mu      sync.Mutex
		shown   bool
		settled bool
	)
	t := time.AfterFunc(progressAfter, func() {
		mu.Lock()
		defer mu.Unlock()
		if !settled {
			shown = true
			fmt.Fprintf(w, "isowasm: compiling %s (%.1f MB)… ", filepath.Base(path), float64(size)/1e6)
		}
	})
	return func(ok bool, p Prepared) {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		settled = true
		if !shown {
			return
		}
		took := fmt.Sprintf("%.1f s", time.Since(start).Seconds())
		switch {
		case !ok:
			fmt.Fprintf(w, "refused after %s\n", took)
		case !p.Compiled:
			fmt.Fprintf(w, "loaded from the cache in %s\n", took)
		case p.Cached:
			fmt.Fprintf(w, "done in %s, cached\n", took)
		default:
			fmt.Fprintf(w, "done in %s (no cache)\n", took)
		}
	}
}

// readModule reads a module, refusing one too large to be read at all.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ModuleError{Path: path, Problem: "cannot read the module: " + errText(err), Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if err := checkSize(path, st.Size()); err != nil {
			return nil, err
		}
	}
	bin, err := io.ReadAll(io.LimitReader(f, maxModuleSize+1))
	if err != nil {
		return nil, &ModuleError{Path: path, Problem: "cannot read the module: " + errText(err), Err: err}
	}
	return bin, nil
}

func checkSize(path string, size int64) error {
	if size > maxModuleSize {
		le := &LimitError{What: "bytes of module", Value: uint64(size), Limit: maxModuleSize}
		return &ModuleError{Path: path, Problem: le.Error(), Err: le}
	}
	return nil
}

// checkModule refuses a module over browsers' limits, or whose initial
// memory is above the limit, before wazero decodes it.
func checkModule(path string, bin []byte, memoryLimitPages uint32) (moduleFacts, error) {
	facts, err := checkLimits(bin)
	if err != nil {
		return facts, &ModuleError{Path: path, Problem: err.Error(), Err: err}
	}
	if memoryLimitPages > 0 && facts.hasMemory && facts.minPages > uint64(memoryLimitPages) {
		me := &MemoryLimitError{MinPages: facts.minPages, LimitPages: uint64(memoryLimitPages)}
		return facts, &ModuleError{Path: path, Problem: me.Error(), Err: me}
	}
	return facts, nil
}

// envCompile carries a compileRequest to the child that compiles.
const envCompile = "ISOWASM_WASM_COMPILE"

type compileRequest struct {
	Path             string `json:"path"`
	CacheDir         string `json:"cacheDir"`
	CacheMax         int64  `json:"cacheMax"`
	MemoryLimitPages uint32 `json:"memoryLimitPages"`
	MemoryBudget     int64  `json:"memoryBudget"`
}

type compileResult struct {
	Problem  string `json:"problem,omitempty"` // the ModuleError's, "" when accepted
	Compiled bool   `json:"compiled"`
	Cached   bool   `json:"cached"`
	// A MemoryLimitError's figures, when that is the problem.
	MinPages   uint64 `json:"minPages,omitempty"`
	LimitPages uint64 `json:"limitPages,omitempty"`
}

func compileInChild(ctx context.Context, req compileRequest, size int64, cfg PrepareConfig) compileResult {
	mb := float64(size) / 1e6
	timeout := cfg.CompileTimeout
	if timeout <= 0 {
		timeout = budgetFactor * (30*time.Second + time.Duration(5*mb*float64(time.Second)))
	}
	budget := cfg.CompileMemory
	if budget <= 0 {
		budget = budgetFactor * (1<<30 + 64*size)
	}
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return compileResult{Problem: "cannot compile: this program's executable is not found: " + err.Error()}
		}
	}
	if abs, err := filepath.Abs(req.Path); err == nil {
		req.Path = abs // the child reports problems without the path
	}
	req.MemoryBudget = budget
	reqText, _ := json.Marshal(req)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe)
	cmd.Env = append(os.Environ(), envCompile+"="+string(reqText))
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = 64<<10, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res compileResult
	if runErr == nil && json.Unmarshal(stdout.Bytes(), &res) == nil {
		return res
	}
	switch {
	case cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
		return compileResult{Problem: fmt.Sprintf("compiling took longer than %s (the compile time budget): refused", timeout.Round(100*time.Millisecond))}
	case ctx.Err() != nil:
		return compileResult{Problem: "compile interrupted: " + ctx.Err().Error()}
	case outOfMemory(cmd.ProcessState, stderr.Bytes(), budget):
		return compileResult{Problem: fmt.Sprintf("compiling needed more than %d MiB (the compile memory budget): refused", budget>>20)}
	}
	why := strings.TrimSpace(stderr.String())
	if why == "" {
		why = runErr.Error()
	}
	return compileResult{Problem: "the compiler failed: " + oneLine(why)}
}

// outOfMemory tells a compiling child that died of its memory budget: an
// allocation failing shows up as the Go runtime's "out of memory", a
// panic in wazero's code buffers, or a thread that could not start; or
// the child had used most of the budget when it crashed.
func outOfMemory(ps *os.ProcessState, stderr []byte, budget int64) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "pthread_create failed"} {
		if bytes.Contains(stderr, []byte(s)) {
			return true
		}
	}
	if ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss<<10 >= budget/2 {
			return true
		}
	}
	return false
}

// CompileMain serves the hidden mode Prepare re-runs this binary in; call
// it first thing in main (worker.Main does). isCompiler is false, and
// nothing is done, in any other process.
func CompileMain(getenv func(string) string, stdout, stderr io.Writer) (isCompiler bool, code int) {
	s := getenv(envCompile)
	if s == "" {
		return false, 0
	}
	var req compileRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		fmt.Fprintf(stderr, "isowasm: %s: %v\n", envCompile, err)
		return true, 2
	}
	if req.MemoryBudget > 0 {
		limitData(req.MemoryBudget)
	}
	res := compileHere(context.Background(), req)
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return true, 1
	}
	return true, 0
}

// limitData lets this process's data segment (the Go heap and wazero's
// code buffers) grow by budget bytes from what it is now; past it, an
// allocation fails and the process dies "out of memory".
func limitData(budget int64) {
	var now int64
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "VmData:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				now = kb << 10
			}
		}
	}
	lim := uint64(now + budget)
	_ = unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: lim, Max: lim})
}

// compileHere compiles in this process, into the cache, and keeps the
// cache's books.
func compileHere(ctx context.Context, req compileRequest) compileResult {
	e := newEngine(ctx, req.CacheDir, req.MemoryLimitPages)
	defer e.Close(context.WithoutCancel(ctx))
	dir := resolveCacheDir(req.CacheDir)
	if e.cache == nil {
		dir = ""
	}
	var before map[string]bool
	if dir != "" {
		before = cacheFiles(dir)
	}
	bin, cm, err := e.compileFile(ctx, req.Path)
	if err != nil {
		var me *ModuleError
		if !errors.As(err, &me) {
			return compileResult{Problem: err.Error()}
		}
		res := compileResult{Problem: me.Problem}
		var ml *MemoryLimitError
		if errors.As(err, &ml) {
			res.MinPages, res.LimitPages = ml.MinPages, ml.LimitPages
		}
		return res
	}
	cm.Close(ctx)
	if dir == "" {
		return compileResult{Compiled: true}
	}
	added := ""
	for name := range cacheFiles(dir) {
		if !before[name] {
			added = name
		}
	}
	max := req.CacheMax
	if max == 0 {
		max = DefaultCacheMax
	}
	if added != "" {
		recordUse(dir, bin, added)
		if max > 0 {
			_, _ = trimCache(dir, max, added)
		}
		return compileResult{Compiled: true, Cached: true}
	}
	touchUse(dir, bin)
	return compileResult{Cached: true}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
