package wasm

import (
	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// reservedMemory backs a guest's linear memory with one anonymous mapping
// of its maximum size, reserved up front and never moved: growing it only
// lengthens the slice, and the kernel gives a page when the guest first
// touches it. wazero's default grows a Go slice by copying it, which left
// the old copies as garbage for the collector: a guest capped at 64 MiB
// measured 232 MiB resident. Here the resident size follows what the
// guest uses, and nothing of it is on the Go heap.
type reservedMemory struct {
	mem []byte // len: the reservation; the guest sees a prefix
}

// allocateReserved is wazero's MemoryAllocator. A reservation the system
// refuses falls back to a Go slice (wazero's own behaviour).
func allocateReserved(_, max uint64) experimental.LinearMemory {
	if max == 0 {
		return &goMemory{}
	}
	mem, err := unix.Mmap(-1, 0, int(max), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return &goMemory{}
	}
	return &reservedMemory{mem: mem}
}

func (m *reservedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.mem)) {
		return nil
	}
	return m.mem[:size:size]
}

func (m *reservedMemory) Free() {
	if m.mem != nil {
		_ = unix.Munmap(m.mem)
		m.mem = nil
	}
}

// goMemory is a linear memory on the Go heap, grown by copying.
type goMemory struct{ buf []byte }

func (m *goMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		b := make([]byte, size)
		copy(b, m.buf)
		m.buf = b
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *goMemory) Free() { m.buf = nil }
