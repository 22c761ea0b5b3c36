package wasm

import (
	"errors"
	"fmt"
)

// The limits a module must stay within before wazero sees it. wazero
// accepts far more (2^32 locals in one function: a 126-byte module
// exhausts the compiler's memory), so the host checks the binary first
// against what browsers accept: the WebAssembly JS API's
// implementation-defined limits (https://webassembly.github.io/spec/js-api/#limits),
// which V8, SpiderMonkey and JavaScriptCore share. A module that runs in a
// browser passes.
const (
	maxModuleSize   = 1 << 30 // bytes
	maxTypes        = 1_000_000
	maxFunctions    = 1_000_000 // defined in the module
	maxImports      = 100_000
	maxExports      = 100_000
	maxGlobals      = 1_000_000 // imported and defined
	maxDataSegments = 100_000
	maxTables       = 100_000
	maxMemories     = 100
	maxTableSize    = 10_000_000 // elements, initial
	maxElemSegments = 10_000_000
	maxParams       = 1_000
	maxResults      = 1_000
	maxFunctionSize = 7_654_321 // bytes of one function body
	maxLocals       = 50_000    // per function, parameters included
	maxBrTableSize  = 65_520    // targets of one br_table (V8's bound)
	// maxNesting bounds blocks, loops and ifs open at once in one
	// function. The JS API sets no bound here; compilers do not come near
	// it (a Go guest nests a few hundred deep at most, a switch of a few
	// thousand cases as deep), while 100,000 nested blocks make wazero's
	// compiler run for over a minute.
	maxNesting = 10_000
)

// LimitError is a module over one of the limits above; it is the Err of
// the *ModuleError that refuses it.
type LimitError struct {
	What  string // "locals in function 3", "nested blocks in function 0", ...
	Value uint64
	Limit uint64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%d %s, over the limit of %d", e.Value, e.What, e.Limit)
}

// errTruncated is a module that ends inside an item: wazero says what is
// wrong with it better than this parser would.
var errTruncated = errors.New("wasm: truncated module")

// moduleFacts is what the limit check learns on the way that the host uses.
type moduleFacts struct {
	// minPages is the declared minimum of the first memory, defined or
	// imported, in 64 KiB pages; hasMemory false without one.
	minPages  uint64
	hasMemory bool
}

// checkLimits reads a module's sections and refuses one over a limit
// (a *LimitError). A module that is malformed in some other way passes:
// wazero's own decoder reports that. The cost is linear in the module's
// size and allocates 4 bytes per defined function.
func checkLimits(bin []byte) (moduleFacts, error) {
	var facts moduleFacts
	if len(bin) > maxModuleSize {
		return facts, &LimitError{What: "bytes of module", Value: uint64(len(bin)), Limit: maxModuleSize}
	}
	r := reader{b: bin}
	if len(bin) < 8 {
		return facts, nil
	}
	r.off = 8 // magic and version: wazero checks them
	var (
		paramCounts []uint32 // by type index
		funcTypes   []uint32 // by defined function index
		globals     uint64
	)
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return facts, nil
		}
		size, err := r.u32()
		if err != nil || uint64(size) > uint64(len(r.b)-r.off) {
			return facts, nil
		}
		s := reader{b: r.b[:r.off+int(size)], off: r.off}
		r.off += int(size)
		var lerr error
		switch id {
		case 1: // types
			paramCounts, lerr = checkTypes(&s)
		case 2: // imports
			var imported uint64
			imported, lerr = checkImports(&s, &facts)
			globals += imported
		case 3: // functions
			funcTypes, lerr = readFunctions(&s)
		case 4: // tables
			lerr = checkTables(&s)
		case 5: // memories
			lerr = readMemories(&s, &facts)
		case 6: // globals
			n, err := s.u32()
			if err == nil {
				globals += uint64(n)
				lerr = over("globals", globals, maxGlobals)
			}
		case 7: // exports
			if n, err := s.u32(); err == nil {
				lerr = over("exports", uint64(n), maxExports)
			}
		case 9: // elements
			if n, err := s.u32(); err == nil {
				lerr = over("element segments", uint64(n), maxElemSegments)
			}
		case 11: // data
			if n, err := s.u32(); err == nil {
				lerr = over("data segments", uint64(n), maxDataSegments)
			}
		case 10: // code
			lerr = checkCode(&s, paramCounts, funcTypes)
		}
		if lerr != nil {
			return facts, lerr
		}
	}
	return facts, nil
}

func over(what string, n, limit uint64) error {
	if n > limit {
		return &LimitError{What: what, Value: n, Limit: limit}
	}
	return nil
}

func checkTypes(s *reader) ([]uint32, error) {
	n, err := s.u32()
	if err != nil {
		return nil, nil
	}
	if err := over("types", uint64(n), maxTypes); err != nil {
		return nil, err
	}
	// Each type takes 3 bytes at least: a count past that is malformed.
	params := make([]uint32, 0, min(uint64(n), uint64(s.left()/3)))
	for i := uint32(0); i < n; i++ {
		if form, err := s.byte(); err != nil || form != 0x60 {
			return params, nil // not a plain function type: wazero decides
		}
		np, err := s.vecOfBytes()
		if err != nil {
			return params, nil
		}
		if err := over(fmt.Sprintf("parameters in type %d", i), uint64(np), maxParams); err != nil {
			return nil, err
		}
		nr, err := s.vecOfBytes()
		if err != nil {
			return params, nil
		}
		if err := over(fmt.Sprintf("results in type %d", i), uint64(nr), maxResults); err != nil {
			return nil, err
		}
		params = append(params, np)
	}
	return params, nil
}

// checkImports counts imports and returns the number of imported globals.
func checkImports(s *reader, facts *moduleFacts) (globals uint64, err error) {
	n, rerr := s.u32()
	if rerr != nil {
		return 0, nil
	}
	if err := over("imports", uint64(n), maxImports); err != nil {
		return 0, err
	}
	for range n {
		if s.skipName() != nil || s.skipName() != nil {
			return globals, nil
		}
		kind, rerr := s.byte()
		if rerr != nil {
			return globals, nil
		}
		switch kind {
		case 0x00: // function
			_, rerr = s.u32()
		case 0x01: // table
			if _, rerr = s.byte(); rerr == nil {
				var min uint64
				if min, rerr = s.limits(); rerr == nil {
					if err := over("initial table elements", min, maxTableSize); err != nil {
						return 0, err
					}
				}
			}
		case 0x02: // memory
			var min uint64
			if min, rerr = s.limits(); rerr == nil && !facts.hasMemory {
				facts.minPages, facts.hasMemory = min, true
			}
		case 0x03: // global
			globals++
			_, rerr = s.byte()
			if rerr == nil {
				_, rerr = s.byte()
			}
		default:
			return globals, nil
		}
		if rerr != nil {
			return globals, nil
		}
	}
	return globals, nil
}

func readFunctions(s *reader) ([]uint32, error) {
	n, err := s.u32()
	if err != nil {
		return nil, nil
	}
	if err := over("functions", uint64(n), maxFunctions); err != nil {
		return nil, err
	}
	types := make([]uint32, 0, min(uint64(n), uint64(s.left())))
	for range n {
		t, err := s.u32()
		if err != nil {
			break
		}
		types = append(types, t)
	}
	return types, nil
}

func checkTables(s *reader) error {
	n, err := s.u32()
	if err != nil {
		return nil
	}
	if err := over("tables", uint64(n), maxTables); err != nil {
		return err
	}
	for range n {
		if _, err := s.byte(); err != nil {
			return nil
		}
		min, err := s.limits()
		if err != nil {
			return nil
		}
		if err := over("initial table elements", min, maxTableSize); err != nil {
			return err
		}
	}
	return nil
}

func readMemories(s *reader, facts *moduleFacts) error {
	n, err := s.u32()
	if err != nil {
		return nil
	}
	if err := over("memories", uint64(n), maxMemories); err != nil {
		return err
	}
	if n > 0 && !facts.hasMemory {
		if min, err := s.limits(); err == nil {
			facts.minPages, facts.hasMemory = min, true
		}
	}
	return nil
}

// checkCode checks each function body: its size, its locals (its type's
// parameters included) and how deep its blocks nest.
func checkCode(s *reader, paramCounts, funcTypes []uint32) error {
	n, err := s.u32()
	if err != nil {
		return nil
	}
	if err := over("function bodies", uint64(n), maxFunctions); err != nil {
		return err
	}
	for i := range n {
		size, err := s.u32()
		if err != nil {
			return nil
		}
		if err := over(fmt.Sprintf("bytes in the body of function %d", i), uint64(size), maxFunctionSize); err != nil {
			return err
		}
		if uint64(size) > uint64(s.left()) {
			return nil
		}
		body := reader{b: s.b[:s.off+int(size)], off: s.off}
		s.off += int(size)
		var locals uint64
		if int(i) < len(funcTypes) && int(funcTypes[i]) < len(paramCounts) {
			locals = uint64(paramCounts[funcTypes[i]])
		}
		groups, err := body.u32()
		if err != nil {
			continue
		}
		for range groups {
			c, err := body.u32()
			if err != nil {
				break
			}
			locals += uint64(c)
			if err := over(fmt.Sprintf("locals in function %d", i), locals, maxLocals); err != nil {
				return err
			}
			if _, err := body.byte(); err != nil {
				break
			}
		}
		if err := checkNesting(&body, i); err != nil {
			return err
		}
	}
	return nil
}

// checkNesting follows a body's instructions far enough to know how deep
// its blocks nest. An opcode it does not know ends the walk: wazero
// refuses what it does not know either.
func checkNesting(r *reader, fn uint32) error {
	depth := 0
	for r.off < len(r.b) {
		op, _ := r.byte()
		var err error
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			depth++
			if depth > maxNesting {
				return &LimitError{What: fmt.Sprintf("nested blocks in function %d", fn), Value: uint64(depth), Limit: maxNesting}
			}
			_, err = r.u64() // block type (s33): its length is all that matters
		case op == 0x0b: // end
			depth--
		case op == 0x0c || op == 0x0d: // br, br_if
			_, err = r.u32()
		case op == 0x0e: // br_table
			var n uint32
			if n, err = r.u32(); err == nil {
				if lerr := over(fmt.Sprintf("br_table targets in function %d", fn), uint64(n), maxBrTableSize); lerr != nil {
					return lerr
				}
				for i := uint32(0); i <= n && err == nil; i++ {
					_, err = r.u32()
				}
			}
		case op == 0x10 || op == 0x12 || (op >= 0x20 && op <= 0x26) || op == 0x3f || op == 0x40 || op == 0xd2: // one index
			_, err = r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x1c: // select t*
			_, err = r.vecOfBytes()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			err = r.memarg()
		case op == 0x41 || op == 0x42: // i32.const, i64.const (signed, same length)
			_, err = r.u64()
		case op == 0x43:
			err = r.skip(4)
		case op == 0x44:
			err = r.skip(8)
		case op == 0xd0: // ref.null t
			_, err = r.u64()
		case op == 0xfc:
			err = r.prefixFC()
		case op == 0xfd:
			err = r.prefixFD()
		case op == 0xfe:
			err = r.prefixFE()
		case op <= 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || (op >= 0x45 && op <= 0xc4) || op == 0xd1:
			// no immediates
		default:
			return nil
		}
		if err != nil {
			return nil
		}
	}
	return nil
}

func (r *reader) prefixFC() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // two indexes
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err = r.u32()
	case sub <= 17:
		_, err = r.u32()
	default:
		return errUnknownOp
	}
	return err
}

func (r *reader) prefixFD() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		return r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // lane extract and replace
		return r.skip(1)
	case sub >= 84 && sub <= 91: // lane loads and stores
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0x113:
		return nil
	}
	return errUnknownOp
}

func (r *reader) prefixFE() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	if sub == 3 { // atomic.fence
		return r.skip(1)
	}
	if sub > 0x4e {
		return errUnknownOp
	}
	return r.memarg()
}

var errUnknownOp = errors.New("wasm: unknown opcode")

// reader reads a module's LEB128 numbers and bytes; every error is
// errTruncated or a number too long.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n int) error {
	if n > r.left() {
		return errTruncated
	}
	r.off += n
	return nil
}

func (r *reader) u64() (uint64, error) {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errTruncated
}

func (r *reader) u32() (uint32, error) {
	v, err := r.u64()
	if err != nil || v > 1<<32-1 {
		return 0, errTruncated
	}
	return uint32(v), nil
}

// vecOfBytes reads a vector of one-byte items (value types) and its length.
func (r *reader) vecOfBytes() (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	return n, r.skip(int(min(uint64(n), uint64(r.left())+1)))
}

func (r *reader) skipName() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if uint64(n) > uint64(r.left()) {
		return errTruncated
	}
	r.off += int(n)
	return nil
}

// limits reads a table's or memory's limits and returns the minimum.
func (r *reader) limits() (uint64, error) {
	flags, err := r.byte()
	if err != nil {
		return 0, err
	}
	min, err := r.u64()
	if err != nil {
		return 0, err
	}
	if flags&1 != 0 {
		if _, err := r.u64(); err != nil {
			return 0, err
		}
	}
	return min, nil
}

// memarg reads alignment (with the multi-memory bit, an index follows)
// and offset.
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.u64()
	return err
}
