package js

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"

	"github.com/dop251/goja"
)

// hashes are the digests node:crypto's createHash and createHmac offer.
var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

func (r *runtime) cryptoBindings(set func(string, any)) {
	vm := r.vm
	set("randomFill", func(buf goja.Value) {
		ab, ok := buf.Export().(goja.ArrayBuffer)
		if !ok {
			panic(vm.NewTypeError("isowasm: randomFill needs an ArrayBuffer"))
		}
		_, _ = rand.Read(ab.Bytes())
	})
	set("randomUUID", func() string { return uuid4() })
	set("hashAlgorithms", func() []string {
		out := make([]string, 0, len(hashes))
		for name := range hashes {
			out = append(out, name)
		}
		return out
	})
	// hash(algorithm, key or null, chunks as ArrayBuffers) → digest bytes.
	set("hash", func(alg string, key goja.Value, chunks []goja.Value) goja.Value {
		newHash, ok := hashes[strings.ToLower(alg)]
		if !ok {
			panic(vm.NewGoError(errDigest(alg)))
		}
		var h hash.Hash
		if key != nil && !goja.IsNull(key) && !goja.IsUndefined(key) {
			k, _ := key.Export().(goja.ArrayBuffer)
			h = hmac.New(newHash, k.Bytes())
		} else {
			h = newHash()
		}
		for _, c := range chunks {
			if ab, ok := c.Export().(goja.ArrayBuffer); ok {
				h.Write(ab.Bytes())
			}
		}
		return vm.ToValue(vm.NewArrayBuffer(h.Sum(nil)))
	})
}

type errDigest string

func (e errDigest) Error() string { return "Digest method not supported: " + string(e) }

// uuid4 is a random (version 4) UUID in its text form.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&15])
	}
	return string(out)
}
