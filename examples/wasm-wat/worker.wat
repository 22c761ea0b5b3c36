;; An isowasm worker written by hand in WebAssembly text: it sends every
;; message from the primary back unchanged, and counts them in the log.
;; Build: wat2wasm worker.wat -o worker.wasm   (see build.sh)
(module
  (import "isowasm" "send" (func $send (param i32 i32) (result i32)))
  (import "isowasm" "worker_id" (func $worker_id (result i32)))
  (import "isowasm" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 1)

  ;; 0..63: the log line "worker N echoes" is built here.
  (data (i32.const 0) "worker ")
  (data (i32.const 32) " echoes")

  ;; Messages land at 1024; memory grows to fit them.
  (global $inbox i32 (i32.const 1024))

  ;; The ABI version marker: never called.
  (func (export "isowasm_abi_v1"))

  (func (export "isowasm_alloc") (param $size i32) (result i32)
    (local $have i32)
    (local $need i32)
    (local.set $need (i32.add (global.get $inbox) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.get $inbox))

  ;; Writes "worker <id> echoes" to stdout and says ready.
  (func (export "isowasm_init") (result i32)
    (local $id i32)
    (local $end i32)
    (local $digits i32)
    (local $i i32)
    (local.set $id (call $worker_id))
    ;; count the digits of id (at least one)
    (local.set $digits (i32.const 1))
    (local.set $i (local.get $id))
    (block $done
      (loop $count
        (br_if $done (i32.lt_u (local.get $i) (i32.const 10)))
        (local.set $i (i32.div_u (local.get $i) (i32.const 10)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (br $count)))
    ;; write them backwards after "worker "
    (local.set $end (i32.add (i32.const 7) (local.get $digits)))
    (local.set $i (local.get $end))
    (loop $write
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i)
        (i32.add (i32.const 48) (i32.rem_u (local.get $id) (i32.const 10))))
      (local.set $id (i32.div_u (local.get $id) (i32.const 10)))
      (br_if $write (i32.gt_u (local.get $i) (i32.const 7))))
    ;; then " echoes"
    (memory.copy (local.get $end) (i32.const 32) (i32.const 7))
    (call $log (i32.const 0) (i32.const 0) (i32.add (local.get $end) (i32.const 7)))
    (i32.const 0))

  (func (export "isowasm_on_message") (param $ptr i32) (param $len i32)
    (drop (call $send (local.get $ptr) (local.get $len)))))
