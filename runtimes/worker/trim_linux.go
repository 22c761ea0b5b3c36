package worker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimImage unmaps, from this process only, the pages of its own
// executable's read-only segments (code, read-only data, the function
// tables) that it has touched so far. A worker is the whole isowasm binary
// re-run: before main, every linked package initialises (goja, esbuild,
// the CLI, wazero…), and the kernel maps 64 KiB around each page touched,
// so an idle C worker held ~14 MiB of the binary's file pages, most of
// them used once at start-up. Those pages stay in the page cache, shared
// with the primary and every other worker: what the worker touches again
// (its loop, the runtime, the frame codec) comes back as minor faults.
// This is the worker's working set made honest, not memory taken from the
// machine: the figures that count shared pages once (Pss) hardly move.
//
// Only mappings that are backed by the executable, not writable and hold
// no anonymous (copied-on-write) page are dropped: for those, dropping a
// page cannot lose a byte. It returns how many bytes of mappings it
// dropped.
func trimImage() (int, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("worker: trimming the image: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("worker: trimming the image: %w", err)
	}
	defer f.Close()
	regions, err := imageRegions(f, exe)
	if err != nil {
		return 0, fmt.Errorf("worker: trimming the image: %w", err)
	}
	n := 0
	for _, r := range regions {
		// A raw call: the range is not Go memory, so no slice over it.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, r.start, r.end-r.start, unix.MADV_DONTNEED); errno != 0 {
			return n, fmt.Errorf("worker: trimming the image at %#x: %w", r.start, errno)
		}
		n += int(r.end - r.start)
	}
	return n, nil
}

// region is one mapping of /proc/self/smaps.
type region struct{ start, end uintptr }

// imageRegions lists the mappings of smaps that trimImage may drop: those
// of the file exe, read-only (perms r--p or r-xp) and with no anonymous
// page.
func imageRegions(smaps io.Reader, exe string) ([]region, error) {
	var (
		out     []region
		cur     region
		inImage bool // the current mapping is a read-only one of exe
	)
	sc := bufio.NewScanner(smaps)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if isMappingHeader(line) {
			fields := strings.Fields(string(line))
			inImage = false
			if len(fields) < 6 || strings.Join(fields[5:], " ") != exe || (fields[1] != "r--p" && fields[1] != "r-xp") {
				continue
			}
			lo, hi, ok := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start {
				return nil, fmt.Errorf("smaps: bad range %q", fields[0])
			}
			cur, inImage = region{uintptr(start), uintptr(end)}, true
			continue
		}
		if !inImage {
			continue
		}
		// Every mapping has an Anonymous line; a copied page means the
		// mapping holds data that exists nowhere else.
		if rest, ok := bytes.CutPrefix(line, []byte("Anonymous:")); ok {
			if kb := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(rest)), "kB")); kb == "0" {
				out = append(out, cur)
			}
			inImage = false
		}
	}
	return out, sc.Err()
}

// isMappingHeader tells a mapping's first line ("start-end perms …") from
// its "Key: value" lines.
func isMappingHeader(line []byte) bool {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}
