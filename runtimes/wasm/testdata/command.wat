;; A WASI command module, not an isowasm reactor.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
