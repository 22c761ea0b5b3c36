package js

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// The bundle's inline source map maps every token; goja parses it at each
// worker's compile and keeps it for the worker's life. Positions inside
// the built-ins only ever name a frame that stacks leave out (their
// sources are "isowasm:…"), so slimSourceMap keeps one mapping per
// generated line for them (its first: the line, and the file, stay exact)
// and every mapping of the user's code: for the benchmark worker the map
// shrinks about sixfold, which is a sixth of its compile time.

const sourceMapPrefix = "\n//# sourceMappingURL=data:application/json;base64,"

// slimSourceMap returns code (a bundle whose inline map is its last line)
// with the built-ins' mappings thinned; code as it is when it has no
// inline map or the map does not decode.
func slimSourceMap(code string) string {
	i := strings.LastIndex(code, sourceMapPrefix)
	if i < 0 {
		return code
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code[i+len(sourceMapPrefix):]))
	if err != nil {
		return code
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return code
	}
	var sources []string
	var mappings string
	if json.Unmarshal(m["sources"], &sources) != nil || json.Unmarshal(m["mappings"], &mappings) != nil {
		return code
	}
	builtin := make([]bool, len(sources))
	for k, s := range sources {
		builtin[k] = strings.HasPrefix(s, namespace+":")
	}
	slim, ok := thinMappings(mappings, builtin)
	if !ok {
		return code
	}
	if m["mappings"], err = json.Marshal(slim); err != nil {
		return code
	}
	out, err := json.Marshal(m)
	if err != nil {
		return code
	}
	return code[:i] + sourceMapPrefix + base64.StdEncoding.EncodeToString(out) + "\n"
}

// thinMappings drops, on each generated line, every segment into a
// built-in source (builtin[index]) but the line's first one. Segments keep
// their absolute values; the relative encoding is redone. ok is false for
// text that is not a valid mappings string.
func thinMappings(mappings string, builtin []bool) (string, bool) {
	var (
		out strings.Builder
		// Decoding state (absolute values) and encoding state (the last
		// written), as the format's relative fields need.
		src, srcLine, srcCol, name     int
		wSrc, wSrcLine, wSrcCol, wName int
		fields                         [5]int
	)
	out.Grow(len(mappings) / 4)
	for lineNo, line := range strings.Split(mappings, ";") {
		if lineNo > 0 {
			out.WriteByte(';')
		}
		genCol, wGenCol := 0, 0
		wrote, builtinSeen := false, false
		for seg := range strings.SplitSeq(line, ",") {
			if seg == "" {
				continue
			}
			n := 0
			for p := 0; p < len(seg); {
				if n == len(fields) {
					return "", false
				}
				v, size, ok := decodeVLQ(seg[p:])
				if !ok {
					return "", false
				}
				fields[n] = v
				n++
				p += size
			}
			if n != 1 && n != 4 && n != 5 {
				return "", false
			}
			genCol += fields[0]
			if n >= 4 {
				src += fields[1]
				srcLine += fields[2]
				srcCol += fields[3]
				if n == 5 {
					name += fields[4]
				}
				if src < 0 || src >= len(builtin) {
					return "", false
				}
				if builtin[src] {
					if builtinSeen {
						continue
					}
					builtinSeen = true
				}
			}
			if wrote {
				out.WriteByte(',')
			}
			wrote = true
			encodeVLQ(&out, genCol-wGenCol)
			wGenCol = genCol
			if n >= 4 {
				encodeVLQ(&out, src-wSrc)
				encodeVLQ(&out, srcLine-wSrcLine)
				encodeVLQ(&out, srcCol-wSrcCol)
				wSrc, wSrcLine, wSrcCol = src, srcLine, srcCol
				if n == 5 {
					encodeVLQ(&out, name-wName)
					wName = name
				}
			}
		}
	}
	return out.String(), true
}

const vlqDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// decodeVLQ reads one base64 VLQ value from s: the value, the characters
// it took, and false when s does not start with one.
func decodeVLQ(s string) (int, int, bool) {
	v, shift := 0, 0
	for i := 0; i < len(s) && i < 7; i++ {
		d := strings.IndexByte(vlqDigits, s[i])
		if d < 0 {
			return 0, 0, false
		}
		v |= (d & 31) << shift
		if d&32 == 0 {
			if v&1 != 0 {
				return -(v >> 1), i + 1, true
			}
			return v >> 1, i + 1, true
		}
		shift += 5
	}
	return 0, 0, false
}

func encodeVLQ(b *strings.Builder, v int) {
	u := v << 1
	if v < 0 {
		u = -v<<1 | 1
	}
	for {
		d := u & 31
		u >>= 5
		if u != 0 {
			d |= 32
		}
		b.WriteByte(vlqDigits[d])
		if u == 0 {
			return
		}
	}
}
