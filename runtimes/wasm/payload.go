package wasm

import (
	"encoding/binary"
	"fmt"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// checkPayload accepts what a JS worker could send: one well-formed CBOR
// value within the frame limits, made only of what JSON has (maps with text
// keys, arrays, text, numbers, true, false, null). Byte strings, tags,
// undefined and other simple values have no JSON meaning and are refused,
// so the primary never sees a value a JS worker could not have sent.
func checkPayload(data []byte) error {
	if err := frame.Valid(data); err != nil {
		return fmt.Errorf("the message is not well-formed CBOR (%d bytes): %v", len(data), err)
	}
	if _, err := jsonItem(data, 0, false); err != nil {
		return fmt.Errorf("the message is CBOR but not a JSON value: %v", err)
	}
	return nil
}

// jsonItem checks the well-formed item at data[off:] and returns the offset
// after it. With key set the item must be text.
func jsonItem(data []byte, off int, key bool) (int, error) {
	major, info := data[off]>>5, data[off]&0x1f
	start := off
	arg, off := head(data, off)
	if key && major != 3 {
		return 0, fmt.Errorf("a map key at byte %d is not text", start)
	}
	indefinite := info == 31
	switch major {
	case 0, 1:
		return off, nil
	case 2:
		return 0, fmt.Errorf("a byte string at byte %d", start)
	case 3:
		if !indefinite {
			return off + int(arg), nil
		}
		for data[off] != 0xff {
			n, next := head(data, off)
			off = next + int(n)
		}
		return off + 1, nil
	case 4, 5:
		per := 1
		if major == 5 {
			per = 2
		}
		var err error
		for i := uint64(0); indefinite || i < arg*uint64(per); i++ {
			if indefinite && data[off] == 0xff {
				return off + 1, nil
			}
			if off, err = jsonItem(data, off, major == 5 && i%2 == 0); err != nil {
				return 0, err
			}
		}
		return off, nil
	case 6:
		return 0, fmt.Errorf("a tag (%d) at byte %d", arg, start)
	default: // 7
		switch info {
		case 20, 21, 22, 25, 26, 27: // false, true, null, floats
			return off, nil
		case 23:
			return 0, fmt.Errorf("undefined at byte %d (JSON has null)", start)
		}
		return 0, fmt.Errorf("the simple value %d at byte %d", arg, start)
	}
}

// head decodes an item's head at data[off:] (known well-formed): its
// argument (count, length or value) and the offset after the head.
func head(data []byte, off int) (uint64, int) {
	info := data[off] & 0x1f
	off++
	switch {
	case info < 24:
		return uint64(info), off
	case info == 24:
		return uint64(data[off]), off + 1
	case info == 25:
		return uint64(binary.BigEndian.Uint16(data[off:])), off + 2
	case info == 26:
		return uint64(binary.BigEndian.Uint32(data[off:])), off + 4
	case info == 27:
		return binary.BigEndian.Uint64(data[off:]), off + 8
	}
	return 0, off // 31: indefinite length
}
