package worker

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestImageRegions(t *testing.T) {
	const exe = "/opt/isowasm dir/isowasm"
	smaps := `00400000-00eba000 r-xp 00000000 08:01 42 /opt/isowasm dir/isowasm
Size:              11000 kB
Rss:                6600 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00eba000-019c8000 r--p 00aba000 08:01 42 /opt/isowasm dir/isowasm
Rss:                5800 kB
Anonymous:             0 kB
019c8000-01ba0000 rw-p 015c8000 08:01 42 /opt/isowasm dir/isowasm
Anonymous:           600 kB
01ba0000-01bb0000 r--p 015c8000 08:01 42 /opt/isowasm dir/isowasm
Anonymous:             4 kB
7f0000000000-7f0000100000 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 r--p 00000000 08:01 43 /opt/isowasm dir/isowasm.old
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
Anonymous:           132 kB
`
	got, err := imageRegions(strings.NewReader(smaps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := []region{{0x400000, 0xeba000}, {0xeba000, 0x19c8000}}
	if len(got) != len(want) {
		t.Fatalf("regions %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("region %d = %x, want %x", i, got[i], want[i])
		}
	}

	if _, err := imageRegions(strings.NewReader("00ff-00aa r-xp 0 0:0 1 "+exe+"\n"), exe); err == nil {
		t.Error("a bad range was accepted")
	}
}

// TestTrimImage trims this test binary's own image: the pages go, and
// everything the process does afterwards still works.
func TestTrimImage(t *testing.T) {
	before := imageRss(t)
	n, err := trimImage()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("trimImage dropped nothing: it found no read-only mapping of the executable")
	}
	after := imageRss(t)
	if after >= before {
		t.Errorf("the image's resident pages went from %d kB to %d kB", before, after)
	}
	// Code, read-only data and the function tables fault back in.
	runtime.GC()
	var pcs [16]uintptr
	if runtime.Callers(0, pcs[:]) == 0 {
		t.Error("no stack after the trim")
	}
	if _, err := Kind("worker.js"); err != nil {
		t.Error(err)
	}
}

// imageRss sums the resident kB of the executable's read-only mappings.
func imageRss(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	total, in := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		if isMappingHeader([]byte(line)) {
			f := strings.Fields(line)
			in = len(f) >= 6 && strings.Join(f[5:], " ") == exe && (f[1] == "r--p" || f[1] == "r-xp")
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			var kb int
			for _, c := range strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line[4:]), "kB")) {
				kb = kb*10 + int(c-'0')
			}
			total += kb
		}
	}
	if total == 0 {
		t.Fatal("no resident page of the executable found")
	}
	return total
}
