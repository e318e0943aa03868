;; Strided channel copies for core's IrnConcatChannels and IrnSplitChannels kernels
;; (channel-copy.ts). It is instantiated on tfjs-backend-wasm's own memory, so it reads and
;; writes the tensors where they live. Compiled by packages/core/scripts/build-wasm.mjs
;; into channel-copy-wasm.ts (a test checks that the two agree).
(module
  (import "env" "memory" (memory 1))

  ;; copy(desc, n, pixels, vecPixels, alpha)
  ;;
  ;; desc points to n records of eight i32 (32 bytes each):
  ;;   +0 src, +4 srcStride, +8 dst, +12 dstStride (byte addresses and strides),
  ;;   +16 bytes (a multiple of 4, at least 4), +20 mode,
  ;;   +24 mask, +28 maskStride (mode 2 only).
  ;; For each pixel p in 0..pixels-1, and for each record in order, it copies `bytes` from
  ;; src to dst, then advances src, dst and mask by their strides. The records' src, dst and
  ;; mask fields are updated in place. Modes:
  ;;   0: a plain copy;
  ;;   1: LeakyReLU(alpha) of each value: alpha v where v < 0, else v (as tfjs computes it);
  ;;   2: LeakyReLU's gradient: v where the value at `mask` (the LeakyReLU's input) is > 0,
  ;;      else alpha v.
  ;;
  ;; The first vecPixels pixels copy in 16-byte blocks, rounding `bytes` up to a multiple of
  ;; 16. The caller guarantees that this is safe: the up to 12 extra bytes written land on
  ;; bytes that a later copy of the same call overwrites (the next record of the pixel or
  ;; the next pixel), and the extra bytes read and written stay inside the tensors. The
  ;; remaining pixels copy exactly, one float at a time.
  (func (export "copy")
    (param $desc i32) (param $n i32) (param $pixels i32) (param $vecPixels i32) (param $alpha f32)
    (local $p i32) (local $e i32) (local $end i32) (local $src i32) (local $dst i32)
    (local $bytes i32) (local $k i32) (local $mode i32) (local $mask i32)
    (local $va v128) (local $v v128) (local $zero v128) (local $f f32)
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $desc) (i32.mul (local.get $n) (i32.const 32))))
    (block $done
      (loop $pixel
        (br_if $done (i32.ge_u (local.get $p) (local.get $pixels)))
        (local.set $e (local.get $desc))
        (block $recordsDone
          (loop $record
            (br_if $recordsDone (i32.ge_u (local.get $e) (local.get $end)))
            (local.set $src (i32.load (local.get $e)))
            (local.set $dst (i32.load offset=8 (local.get $e)))
            (local.set $bytes (i32.load offset=16 (local.get $e)))
            (local.set $mode (i32.load offset=20 (local.get $e)))
            (local.set $mask (i32.load offset=24 (local.get $e)))
            (local.set $k (i32.const 0))
            (if (i32.lt_u (local.get $p) (local.get $vecPixels))
              (then
                (if (i32.eq (local.get $mode) (i32.const 1))
                  (then
                    (loop $leakyBlocks
                      (local.set $v (v128.load (i32.add (local.get $src) (local.get $k))))
                      (v128.store
                        (i32.add (local.get $dst) (local.get $k))
                        (v128.bitselect
                          (f32x4.mul (local.get $v) (local.get $va))
                          (local.get $v)
                          (f32x4.lt (local.get $v) (local.get $zero))))
                      (local.set $k (i32.add (local.get $k) (i32.const 16)))
                      (br_if $leakyBlocks (i32.lt_u (local.get $k) (local.get $bytes)))))
                  (else
                    (if (i32.eq (local.get $mode) (i32.const 2))
                      (then
                        (loop $gradBlocks
                          (local.set $v (v128.load (i32.add (local.get $src) (local.get $k))))
                          (v128.store
                            (i32.add (local.get $dst) (local.get $k))
                            (v128.bitselect
                              (local.get $v)
                              (f32x4.mul (local.get $v) (local.get $va))
                              (f32x4.gt (v128.load (i32.add (local.get $mask) (local.get $k))) (local.get $zero))))
                          (local.set $k (i32.add (local.get $k) (i32.const 16)))
                          (br_if $gradBlocks (i32.lt_u (local.get $k) (local.get $bytes)))))
                      (else
                        (loop $blocks
                          (v128.store
                            (i32.add (local.get $dst) (local.get $k))
                            (v128.load (i32.add (local.get $src) (local.get $k))))
                          (local.set $k (i32.add (local.get $k) (i32.const 16)))
                          (br_if $blocks (i32.lt_u (local.get $k) (local.get $bytes)))))))))
              (else
                (loop $floats
                  (local.set $f (f32.load (i32.add (local.get $src) (local.get $k))))
                  (if (i32.eq (local.get $mode) (i32.const 1))
                    (then
                      (if (f32.lt (local.get $f) (f32.const 0))
                        (then (local.set $f (f32.mul (local.get $f) (local.get $alpha)))))))
                  (if (i32.eq (local.get $mode) (i32.const 2))
                    (then
                      (if (i32.eqz (f32.gt (f32.load (i32.add (local.get $mask) (local.get $k))) (f32.const 0)))
                        (then (local.set $f (f32.mul (local.get $f) (local.get $alpha)))))))
                  (f32.store (i32.add (local.get $dst) (local.get $k)) (local.get $f))
                  (local.set $k (i32.add (local.get $k) (i32.const 4)))
                  (br_if $floats (i32.lt_u (local.get $k) (local.get $bytes))))))
            (i32.store (local.get $e) (i32.add (local.get $src) (i32.load offset=4 (local.get $e))))
            (i32.store offset=8 (local.get $e) (i32.add (local.get $dst) (i32.load offset=12 (local.get $e))))
            (i32.store offset=24 (local.get $e) (i32.add (local.get $mask) (i32.load offset=28 (local.get $e))))
            (local.set $e (i32.add (local.get $e) (i32.const 32)))
            (br $record)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixel))))
)
