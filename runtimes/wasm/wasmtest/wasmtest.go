// Package wasmtest writes WebAssembly modules byte by byte for tests:
// hostile ones (too many locals, blocks nested too deep, slow or hungry to
// compile) and a minimal isowasm guest, so that the tests need no tool.
package wasmtest

import "bytes"

// LEB appends v as unsigned LEB128.
func LEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// Section is a section with its id and size.
func Section(id byte, body []byte) []byte {
	return append(LEB([]byte{id}, uint64(len(body))), body...)
}

// Header is the magic and version every module starts with.
func Header() []byte { return []byte{0, 'a', 's', 'm', 1, 0, 0, 0} }

// Module is a module of functions of type () -> () with these bodies (each
// without its size); extra sections go before the code section.
func Module(bodies [][]byte, extra ...[]byte) []byte {
	b := Header()
	b = append(b, Section(1, []byte{1, 0x60, 0, 0})...)
	funcs := LEB(nil, uint64(len(bodies)))
	for range bodies {
		funcs = append(funcs, 0)
	}
	b = append(b, Section(3, funcs)...)
	for _, x := range extra {
		b = append(b, x...)
	}
	return append(b, code(bodies)...)
}

func code(bodies [][]byte) []byte {
	c := LEB(nil, uint64(len(bodies)))
	for _, body := range bodies {
		c = append(LEB(c, uint64(len(body))), body...)
	}
	return Section(10, c)
}

// Locals is a body that declares n i32 locals.
func Locals(n uint64) []byte {
	return append(LEB([]byte{1}, n), 0x7f, 0x0b)
}

// Nested is a body of n nested empty blocks.
func Nested(n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x02, 0x40}, n)...)
	b = append(b, bytes.Repeat([]byte{0x0b}, n)...)
	return append(b, 0x0b)
}

// Stack is a body that pushes n constants, then drops them: valid, and its
// compile takes memory in proportion.
func Stack(n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x41, 0x00}, n)...)
	b = append(b, bytes.Repeat([]byte{0x1a}, n)...)
	return append(b, 0x0b)
}

// Guest is the smallest isowasm guest (ABI 1: memory of minPages pages,
// isowasm_abi_v1, isowasm_alloc, isowasm_on_message that ignores messages)
// with extra functions of type () -> () of these bodies, not exported.
func Guest(minPages uint32, extra [][]byte) []byte {
	b := Header()
	// Types: 0 () -> (), 1 (i32) -> i32, 2 (i32, i32) -> ().
	b = append(b, Section(1, []byte{3, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0})...)
	funcs := LEB(nil, uint64(3+len(extra)))
	funcs = append(funcs, 0, 1, 2)
	for range extra {
		funcs = append(funcs, 0)
	}
	b = append(b, Section(3, funcs)...)
	b = append(b, Section(5, LEB([]byte{1, 0}, uint64(minPages)))...)
	exports := []byte{4}
	for i, name := range []string{"memory", "isowasm_abi_v1", "isowasm_alloc", "isowasm_on_message"} {
		kind, index := byte(0), byte(i-1)
		if i == 0 {
			kind, index = 2, 0
		}
		exports = append(LEB(exports, uint64(len(name))), name...)
		exports = append(exports, kind, index)
	}
	b = append(b, Section(7, exports)...)
	bodies := [][]byte{
		{0, 0x0b},                   // isowasm_abi_v1
		{0, 0x41, 0x80, 0x08, 0x0b}, // isowasm_alloc: i32.const 1024
		{0, 0x0b},                   // isowasm_on_message
	}
	return append(b, code(append(bodies, extra...))...)
}
