// Package frame owns the wire format between an isowasm primary and its
// worker processes: length-prefixed CBOR frames with integer keys, and the
// shared CBOR modes that every message payload is encoded and decoded with.
//
// On the wire a frame is a 4-byte big-endian length followed by that many
// bytes: a CBOR map {1: type, 2: body}. The body is itself CBOR (a message
// payload, or one of the small structs below). Sizes and nesting are bounded
// on both sides; an oversize send is refused before anything is written, so
// the channel survives it.
package frame

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Version is the protocol version a worker announces in its Hello.
const Version = 1

// Limits applied when a Reader or Writer is built with a zero size.
const (
	DefaultMaxSize = 64 << 20 // bytes in one frame, header excluded
	MaxNesting     = 512      // arrays, maps and tags nested in one frame
	headerSize     = 4
)

// Type says what a frame carries.
type Type uint8

// The frame types. Only TypeMessage carries user data; the others are the
// cluster's own protocol (Node sends them as internal NODE_CLUSTER messages).
const (
	TypeHello                 Type = 1 // worker → primary, first frame: Hello
	TypeMessage               Type = 2 // both ways: a user message, Body is its CBOR value
	TypeDisconnect            Type = 3 // primary → worker: close servers and the channel
	TypeExitedAfterDisconnect Type = 4 // worker → primary: a voluntary disconnect/exit follows
	TypeListening             Type = 5 // worker → primary: a server listens: Listening
	TypeError                 Type = 6 // either way: a protocol problem the peer should log: Problem
	// TypeHeartbeat asks the worker whether its event loop still turns;
	// the worker answers TypeHeartbeatAck from that loop, so a worker
	// stuck in a busy loop stops answering. Neither has a body.
	TypeHeartbeat    Type = 7 // primary → worker
	TypeHeartbeatAck Type = 8 // worker → primary
	// TypeSelfSignal: the worker is about to send itself a signal (a
	// script's process.kill(process.pid, …)); Body is the signal's name as
	// CBOR text. The primary then knows the death that follows was the
	// worker's own doing, not a kill from outside.
	TypeSelfSignal Type = 9 // worker → primary
	// TypeFatal: the error that ends the worker, as it would print it on
	// its stderr (CBOR text); sent, instead of printed, only when the
	// primary asks for it (hostabi.EnvReportFatal).
	TypeFatal Type = 10 // worker → primary

	lastType = TypeFatal // a reader refuses the types after it
)

// EnvMaxSize is the environment variable through which a primary tells its
// workers the frame size limit it reads with, so both ends agree.
const EnvMaxSize = "ISOWASM_MAX_FRAME_SIZE"

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeMessage:
		return "message"
	case TypeDisconnect:
		return "disconnect"
	case TypeExitedAfterDisconnect:
		return "exitedAfterDisconnect"
	case TypeListening:
		return "listening"
	case TypeError:
		return "error"
	case TypeHeartbeat:
		return "heartbeat"
	case TypeHeartbeatAck:
		return "heartbeatAck"
	case TypeSelfSignal:
		return "selfSignal"
	case TypeFatal:
		return "fatal"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Frame is one unit on the channel.
type Frame struct {
	Type Type            `cbor:"1,keyasint"`
	Body cbor.RawMessage `cbor:"2,keyasint,omitempty"`
}

// Hello is the body of a worker's first frame. Cookie must equal the one the
// primary put in the worker's environment, so a stray process cannot pose as
// a worker.
type Hello struct {
	Version  int    `cbor:"1,keyasint"`
	Cookie   string `cbor:"2,keyasint"`
	PID      int    `cbor:"3,keyasint"`
	WorkerID int    `cbor:"4,keyasint"`
	Runtime  string `cbor:"5,keyasint,omitempty"`
}

// Listening is the body of a TypeListening frame (Node's address object).
type Listening struct {
	Address     string `cbor:"1,keyasint"`
	Port        int    `cbor:"2,keyasint"`
	AddressType int    `cbor:"3,keyasint"` // 4, 6, or -1 for a pipe
}

// Problem is the body of a TypeError frame.
type Problem struct {
	Code    string `cbor:"1,keyasint"`
	Message string `cbor:"2,keyasint"`
}

// Sentinel errors callers test with errors.Is.
var (
	ErrTooLarge  = errors.New("frame: too large")
	ErrMalformed = errors.New("frame: malformed")
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
	// valueMode is decMode for message payloads decoded into values
	// (Value, Unmarshal): no array or map larger than MaxDecodedOverhead
	// allows, a second line behind CheckDecodedSize.
	valueMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{
		Sort:          cbor.SortBytewiseLexical, // Go maps have no order; JS objects keep theirs (the runtime encodes them)
		ShortestFloat: cbor.ShortestFloat16,
		NaNConvert:    cbor.NaNConvert7e00,
		InfConvert:    cbor.InfConvertFloat16,
		Time:          cbor.TimeRFC3339Nano,
		String:        cbor.StringToTextString,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	opts := cbor.DecOptions{
		MaxNestedLevels:  MaxNesting,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		// JavaScript strings may hold lone surrogates: they travel as
		// WTF-8 text and must not be refused.
		UTF8:      cbor.UTF8DecodeInvalid,
		DupMapKey: cbor.DupMapKeyQuiet,
	}
	if decMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
	opts.MaxArrayElements = MaxDecodedOverhead / itemCost
	opts.MaxMapPairs = MaxDecodedOverhead / (2*itemCost + pairCost)
	if valueMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
}

// Marshal encodes v as a message payload with the shared mode.
func Marshal(v any) ([]byte, error) {
	if b, ok := fastMarshal(make([]byte, 0, 64), v, 0); ok {
		return b, nil
	}
	return encMode.Marshal(v)
}

// Unmarshal decodes a message payload with the shared mode and its limits.
// Maps decode to map[string]any, integers to int64 (or *big.Int). A
// payload that would decode to more than MaxDecodedOverhead is refused
// with a *DecodedSizeError.
func Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		x, err := Value(data)
		if err == nil {
			*p = x
		}
		return err
	}
	if err := CheckDecodedSize(data); err != nil {
		return err
	}
	return valueMode.Unmarshal(data, v)
}

// Value decodes a message payload as Unmarshal into an `any` does.
func Value(data []byte) (any, error) {
	if v, ok, over := fastUnmarshal(data); ok {
		return v, nil
	} else if over {
		return nil, &DecodedSizeError{Size: len(data)}
	}
	return generalValue(data)
}

// generalValue is Value beyond the fast path (its own function: the
// variable the general decoder fills escapes).
func generalValue(data []byte) (any, error) {
	if err := CheckDecodedSize(data); err != nil {
		return nil, err
	}
	var v any
	err := valueMode.Unmarshal(data, &v)
	return v, err
}

// Valid reports whether data is one well-formed CBOR item within the limits.
func Valid(data []byte) error { return decMode.Wellformed(data) }

// Message builds a TypeMessage frame from an already encoded payload.
func Message(payload []byte) Frame { return Frame{Type: TypeMessage, Body: payload} }

// New builds a frame whose body is v encoded with the shared mode.
func New(t Type, v any) (Frame, error) {
	if v == nil {
		return Frame{Type: t}, nil
	}
	body, err := encMode.Marshal(v)
	if err != nil {
		return Frame{}, fmt.Errorf("frame: encoding %s body: %w", t, err)
	}
	return Frame{Type: t, Body: body}, nil
}

// Decode decodes the frame's body into v.
func (f Frame) Decode(v any) error {
	if err := decMode.Unmarshal(f.Body, v); err != nil {
		return fmt.Errorf("%w: %s body: %v", ErrMalformed, f.Type, err)
	}
	return nil
}

// AppendEncode appends the wire form of f (header included) to dst.
func AppendEncode(dst []byte, f Frame) []byte {
	env := envelope(nil, f)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(env)+len(f.Body)))
	dst = append(dst, env...)
	return append(dst, f.Body...)
}

// envelope appends the CBOR map header, the type and the body's key: all of
// the frame but the body bytes, which are written as they are (no copy).
func envelope(dst []byte, f Frame) []byte {
	if len(f.Body) == 0 {
		return appendUint(append(dst, 0xa1, 0x01), uint64(f.Type))
	}
	dst = append(dst, 0xa2, 0x01)
	dst = appendUint(dst, uint64(f.Type))
	return append(dst, 0x02)
}

func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 24:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0x18, byte(v))
	default:
		return append(dst, 0x19, byte(v>>8), byte(v))
	}
}

// Writer writes frames to a stream; it is safe for concurrent use, and each
// frame is written whole or not at all as far as other writers are concerned.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	maxSize int
	hdr     []byte
	bufs    [][]byte // WriteBatch's scratch
	ends    []int

	// corked: Write holds small frames in held until Flush (Cork).
	corked bool
	held   []byte
}

// corkCopy is the largest body a corked Write copies into the held bytes;
// a larger one goes out at once, after what is held (one writev, no copy).
// corkFlush is how many held bytes make a corked Write flush by itself.
const (
	corkCopy  = 16 << 10
	corkFlush = 256 << 10
)

// NewWriter returns a Writer refusing frames over maxSize bytes (0: DefaultMaxSize).
func NewWriter(w io.Writer, maxSize int) *Writer {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Writer{w: w, maxSize: maxSize, hdr: make([]byte, 0, 16)}
}

// SizeError says a frame was over the limit; it wraps ErrTooLarge.
type SizeError struct {
	Size, Max int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("frame: %d bytes is over the limit of %d bytes", e.Size, e.Max)
}

func (e *SizeError) Unwrap() error { return ErrTooLarge }

// Write writes one frame. An oversize frame is refused with a *SizeError and
// nothing is written.
func (w *Writer) Write(f Frame) error {
	if f.Type == 0 || f.Type > 23 {
		return fmt.Errorf("%w: unknown frame type %d", ErrMalformed, f.Type)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	env := envelope(w.hdr[:headerSize], f)
	size := len(env) - headerSize + len(f.Body)
	if size > w.maxSize {
		return &SizeError{Size: size, Max: w.maxSize}
	}
	binary.BigEndian.PutUint32(env[:headerSize], uint32(size))
	w.hdr = env[:0]
	if w.corked {
		if len(f.Body) <= corkCopy {
			w.held = append(append(w.held, env...), f.Body...)
			if len(w.held) < corkFlush {
				return nil
			}
			return w.flushLocked()
		}
		bufs := net.Buffers{w.held, env, f.Body}
		_, err := bufs.WriteTo(w.w)
		w.held = w.held[:0]
		return err
	}
	if len(f.Body) == 0 {
		_, err := w.w.Write(env)
		return err
	}
	if len(f.Body) < 4096 {
		// One write for small frames: fewer syscalls beat avoiding a copy.
		buf := append(env, f.Body...)
		w.hdr = buf[:0]
		_, err := w.w.Write(buf)
		return err
	}
	bufs := net.Buffers{env, f.Body}
	_, err := bufs.WriteTo(w.w)
	return err
}

// Cork makes Write hold the frames it is given, in memory and in order,
// until Flush writes them all at once: a loop that answers a batch of
// messages corks before it and flushes after, and its answers cost one
// system call instead of one each. A held frame's Write returns nil (the
// frame is accepted; its bytes are copied, the caller may reuse them); a
// failure to write it is Flush's error. Bodies over 16 KiB are not copied:
// their Write flushes what is held and writes them at once, and so does a
// Write that makes the held bytes reach 256 KiB. WriteBatch writes what is held first,
// then its own frames, corked or not.
func (w *Writer) Cork() {
	w.mu.Lock()
	w.corked = true
	w.mu.Unlock()
}

// Flush writes the frames held since Cork and ends the cork.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.corked = false
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.held) == 0 {
		return nil
	}
	_, err := w.w.Write(w.held)
	if cap(w.held) > 2*corkFlush {
		w.held = nil // a burst of large frames: do not keep its buffer
	} else {
		w.held = w.held[:0]
	}
	return err
}

// maxBatchCopy bounds the small frames a WriteBatch copies into its buffer
// before handing them to the kernel with the large bodies (one writev).
const maxBatchCopy = 256 << 10

// WriteBatch writes frames in order, with as few system calls as it can
// (one writev for the whole batch as a rule): small frames are copied
// together, large bodies are written from where they are. errs[i] is set
// to frames[i]'s result: nil when it was written, the refusal of an
// unknown type or an oversize frame (nothing of it is written, the others
// are), or, after a failed write, the error of that write for every frame
// not wholly written. The returned error is that write error (nil if none):
// the stream is then unusable. errs must have len(frames) elements.
func (w *Writer) WriteBatch(frames []Frame, errs []error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flushLocked(); err != nil { // what a cork holds goes first
		for i := range errs {
			errs[i] = err
		}
		return err
	}
	bufs := w.bufs[:0]
	ends := w.ends[:0] // ends[i]: bytes of the batch up to frame i's end (-1: refused)
	scratch := w.hdr[:0]
	start := 0 // where the run of bytes not yet in bufs begins in scratch
	total := 0
	for i, f := range frames {
		errs[i] = nil
		if f.Type == 0 || f.Type > 23 {
			errs[i] = fmt.Errorf("%w: unknown frame type %d", ErrMalformed, f.Type)
			ends = append(ends, -1)
			continue
		}
		size := 4 + len(f.Body) // the envelope of a type below 24: 4 bytes, 3 without a body
		if len(f.Body) == 0 {
			size = 3
		}
		if size > w.maxSize {
			errs[i] = &SizeError{Size: size, Max: w.maxSize}
			ends = append(ends, -1)
			continue
		}
		scratch = binary.BigEndian.AppendUint32(scratch, uint32(size))
		scratch = envelope(scratch, f)
		if len(f.Body) < 4096 {
			scratch = append(scratch, f.Body...)
		} else {
			bufs = append(bufs, scratch[start:], f.Body)
			start = len(scratch)
		}
		total += headerSize + size
		ends = append(ends, total)
	}
	if len(scratch) > start {
		bufs = append(bufs, scratch[start:])
	}
	var err error
	if total > 0 {
		nb := net.Buffers(bufs)
		var n int64
		n, err = nb.WriteTo(w.w)
		if err != nil {
			for i, end := range ends {
				if end >= 0 && int64(end) > n {
					errs[i] = err
				}
			}
		}
	}
	// Keep the buffers for the next batch unless they grew large.
	if cap(scratch) <= maxBatchCopy {
		w.hdr = scratch[:0]
	}
	clear(bufs)
	if cap(bufs) <= 1024 {
		w.bufs = bufs[:0]
	}
	if cap(ends) <= 1<<16 {
		w.ends = ends[:0]
	}
	return err
}

// Reader reads frames from a stream. It is not safe for concurrent use.
//
// It reads through a buffer of its own (readBuffer bytes), so that a small
// frame costs one system call, or none when it arrived with others; a frame
// is allocated once at its exact size and its Body is a slice of it.
type Reader struct {
	r       *bufio.Reader
	maxSize int
	buf     []byte // unused beyond a frame's read: each frame is its own allocation
}

// readBuffer is the Reader's buffer: a read larger than it goes straight
// into the frame.
const readBuffer = 64 << 10

// exactAlloc is the largest frame allocated whole as soon as its length
// prefix arrives; a larger one grows as its data arrives, so a huge length
// prefix on a short stream costs little memory.
const exactAlloc = 4 << 20

// NewReader returns a Reader refusing frames over maxSize bytes (0: DefaultMaxSize).
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{r: bufio.NewReaderSize(r, readBuffer), maxSize: maxSize}
}

// Read reads the next frame. At a clean end of stream it returns io.EOF; a
// stream cut inside a frame is io.ErrUnexpectedEOF. After ErrTooLarge or
// ErrMalformed the stream is out of step: the caller must drop the channel.
// The frame's Body is its own memory (not shared with later frames).
func (r *Reader) Read() (Frame, error) {
	hdr, err := r.r.Peek(headerSize)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	size := int(binary.BigEndian.Uint32(hdr))
	if size > r.maxSize {
		return Frame{}, &SizeError{Size: size, Max: r.maxSize}
	}
	_, _ = r.r.Discard(headerSize)
	buf := make([]byte, min(size, exactAlloc))
	n, err := io.ReadFull(r.r, buf)
	for err == nil && n < size {
		// A large frame: grow as its data arrives.
		grown := make([]byte, min(size, 4*len(buf)))
		copy(grown, buf[:n])
		buf = grown
		var m int
		m, err = io.ReadFull(r.r, buf[n:])
		n += m
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Parse(buf)
}

// Parse decodes one frame from its bytes (the header already removed). The
// frame's Body is a slice of data.
func Parse(data []byte) (Frame, error) {
	if f, ok := parseCanonical(data); ok {
		if f.Type == 0 || f.Type > lastType {
			return Frame{}, fmt.Errorf("%w: unknown frame type %d", ErrMalformed, f.Type)
		}
		if len(f.Body) > 0 {
			if err := decMode.Wellformed(f.Body); err != nil {
				return Frame{}, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
		}
		return f, nil
	}
	return parseGeneral(data)
}

// parseGeneral decodes any CBOR shape of a frame.
func parseGeneral(data []byte) (Frame, error) {
	var f Frame
	if err := decMode.Unmarshal(data, &f); err != nil {
		return Frame{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == 0 || f.Type > lastType {
		return Frame{}, fmt.Errorf("%w: unknown frame type %d", ErrMalformed, f.Type)
	}
	if f.Type == TypeMessage && len(f.Body) == 0 {
		return Frame{}, fmt.Errorf("%w: message frame without a body", ErrMalformed)
	}
	return f, nil
}

// parseCanonical reads the envelope every Writer produces ({1: type} or
// {1: type, 2: body}, the type as a one-byte integer) without decoding or
// copying the body; ok is false for any other shape, which Parse then
// decodes in general. A body-less message is left to the general path.
func parseCanonical(data []byte) (f Frame, ok bool) {
	if len(data) < 3 || data[1] != 0x01 || data[2] >= 24 {
		return Frame{}, false
	}
	t := Type(data[2])
	switch {
	case data[0] == 0xa1 && len(data) == 3 && t != TypeMessage:
		return Frame{Type: t}, true
	case data[0] == 0xa2 && len(data) > 4 && data[3] == 0x02:
		return Frame{Type: t, Body: data[4:]}, true
	}
	return Frame{}, false
}
