/**
 * Writes the WebAssembly text (SIMD) of core's conv filter-gradient kernel
 * (src/layers/filter-grad.wat). The inner loops are unrolled over a tile of accumulators held
 * in registers; one function per tile width, so the text is generated rather than written by
 * hand. `build-wasm.mjs` writes the .wat and compiles it; a test checks that both committed
 * files are what this generator and wabt give.
 */

/**
 * The tiles: `nv` vectors of 4 output channels by `ct` input channels, nv * ct accumulators.
 * Eight accumulators is what x64's 16 SIMD registers hold without spills next to the nv dy
 * vectors (measured: 12 accumulators ran at half the speed). `ct` must divide CIN_ALIGN.
 */
export const TILES = [
  { nv: 1, ct: 4 },
  { nv: 2, ct: 4 },
  { nv: 3, ct: 2 },
  { nv: 4, ct: 2 },
];
/** The scratch's rows of input channels are padded to a multiple of this. */
export const CIN_ALIGN = 4;
/** Bytes the kernel may read past the end of x or dy (their last pixel's tile overrun). */
export const OVERREAD = 16;

const range = (n) => [...Array(n).keys()];
const get = (v) => `(local.get $${v})`;

/** One tile function: accumulates nv*4 output channels from co0 on, all input channels, all offsets. */
function tileFunc({ nv, ct }) {
  const accs = range(ct).flatMap((c) => range(nv).map((v) => `$a${c}_${v}`));
  const v128s = [...accs, ...range(nv).map((v) => `$d${v}`), '$s'];
  const accRowOf = (c) => (c === 0 ? get('ap') : `(i32.add ${get('ap')} (i32.mul ${get('accRow')} (i32.const ${c})))`);
  // max(0, pad - kk) and min(size, size + pad - kk): the output rows (columns) whose input row
  // (column) at kernel offset kk is inside the image.
  const lo = (kk) => `(select (i32.sub ${get('pad')} ${get(kk)}) (i32.const 0) (i32.gt_s (i32.sub ${get('pad')} ${get(kk)}) (i32.const 0)))`;
  const hi = (size, kk) => `(select (i32.sub (i32.add ${get(size)} ${get('pad')}) ${get(kk)}) ${get(size)} (i32.lt_s ${get('pad')} ${get(kk)}))`;
  return `
  ;; acc[kh, kw, ci, co0/4 .. co0/4 + ${nv}] += x[b, h + kh - pad, w + kw - pad, ci] * dy[b, h, w, co],
  ;; ${ct} input channels at a time: ${nv * ct} accumulators in registers across all pixels.
  (func $tile${nv}
    (param $x i32) (param $dy i32) (param $acc i32) (param $n i32) (param $h i32) (param $w i32)
    (param $cin i32) (param $cout i32) (param $k i32) (param $co0 i32) (param $accRow i32) (param $cinPad i32)
    (local $b i32) (local $kh i32) (local $kw i32) (local $ci i32) (local $cinT i32) (local $hh i32) (local $pad i32)
    (local $hLo i32) (local $hHi i32) (local $wLo i32) (local $wHi i32)
    (local $xp i32) (local $dp i32) (local $cnt i32) (local $ap i32) (local $xs i32) (local $ds i32)
    ${v128s.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $pad (i32.shr_u (i32.sub ${get('k')} (i32.const 1)) (i32.const 1)))
    (local.set $xs (i32.shl ${get('cin')} (i32.const 2)))
    (local.set $ds (i32.shl ${get('cout')} (i32.const 2)))
    ;; input channels rounded up to the tile: the extra ones read the next pixel's values and
    ;; land in scratch rows that are never copied out
    (local.set $cinT (i32.mul (i32.div_u (i32.add ${get('cin')} (i32.const ${ct - 1})) (i32.const ${ct})) (i32.const ${ct})))
    (local.set $b (i32.const 0))
    (loop $images
      (local.set $kh (i32.const 0))
      (loop $kernelRows
        (local.set $hLo ${lo('kh')})
        (local.set $hHi ${hi('h', 'kh')})
        (local.set $kw (i32.const 0))
        (loop $kernelCols
          (local.set $wLo ${lo('kw')})
          (local.set $wHi ${hi('w', 'kw')})
          (if (i32.and (i32.lt_s ${get('hLo')} ${get('hHi')}) (i32.lt_s ${get('wLo')} ${get('wHi')}))
            (then
              (local.set $ci (i32.const 0))
              (loop $ciTiles
                ;; ap = acc + ((kh k + kw) cinPad + ci) accRow + co0
                (local.set $ap
                  (i32.add (i32.add ${get('acc')} ${get('co0')})
                    (i32.mul ${get('accRow')} (i32.add ${get('ci')} (i32.mul ${get('cinPad')} (i32.add ${get('kw')} (i32.mul ${get('kh')} ${get('k')})))))))
${range(ct).flatMap((c) => range(nv).map((v) => `                (local.set $a${c}_${v} (v128.load offset=${16 * v} ${accRowOf(c)}))`)).join('\n')}
                (local.set $hh ${get('hLo')})
                (loop $rows
                  ;; xp = x + 4 (((b h + hh + kh - pad) w + wLo + kw - pad) cin + ci)
                  (local.set $xp
                    (i32.add ${get('x')}
                      (i32.shl
                        (i32.add ${get('ci')}
                          (i32.mul ${get('cin')}
                            (i32.sub
                              (i32.add (i32.add ${get('wLo')} ${get('kw')})
                                (i32.mul ${get('w')} (i32.sub (i32.add (i32.add (i32.mul ${get('b')} ${get('h')}) ${get('hh')}) ${get('kh')}) ${get('pad')})))
                              ${get('pad')})))
                        (i32.const 2))))
                  ;; dp = dy + 4 cout ((b h + hh) w + wLo) + co0
                  (local.set $dp
                    (i32.add (i32.add ${get('dy')} ${get('co0')})
                      (i32.mul ${get('ds')} (i32.add ${get('wLo')} (i32.mul ${get('w')} (i32.add (i32.mul ${get('b')} ${get('h')}) ${get('hh')}))))))
                  (local.set $cnt (i32.sub ${get('wHi')} ${get('wLo')}))
                  (loop $pixels
${range(nv).map((v) => `                    (local.set $d${v} (v128.load offset=${16 * v} ${get('dp')}))`).join('\n')}
${range(ct)
  .map((c) =>
    [
      `                    (local.set $s (v128.load32_splat offset=${4 * c} ${get('xp')}))`,
      ...range(nv).map((v) => `                    (local.set $a${c}_${v} (f32x4.add ${get(`a${c}_${v}`)} (f32x4.mul ${get('s')} ${get(`d${v}`)})))`),
    ].join('\n'),
  )
  .join('\n')}
                    (local.set $xp (i32.add ${get('xp')} ${get('xs')}))
                    (local.set $dp (i32.add ${get('dp')} ${get('ds')}))
                    (br_if $pixels (local.tee $cnt (i32.sub ${get('cnt')} (i32.const 1)))))
                  (br_if $rows (i32.lt_s (local.tee $hh (i32.add ${get('hh')} (i32.const 1))) ${get('hHi')})))
${range(ct).flatMap((c) => range(nv).map((v) => `                (v128.store offset=${16 * v} ${accRowOf(c)} ${get(`a${c}_${v}`)})`)).join('\n')}
                (br_if $ciTiles (i32.lt_s (local.tee $ci (i32.add ${get('ci')} (i32.const ${ct}))) ${get('cinT')})))))
          (br_if $kernelCols (i32.lt_s (local.tee $kw (i32.add ${get('kw')} (i32.const 1))) ${get('k')})))
        (br_if $kernelRows (i32.lt_s (local.tee $kh (i32.add ${get('kh')} (i32.const 1))) ${get('k')})))
      (br_if $images (i32.lt_s (local.tee $b (i32.add ${get('b')} (i32.const 1))) ${get('n')}))))`;
}

/** The whole module's text. */
export function filterGradWat() {
  const tileArgs = `${['x', 'dy', 'acc', 'n', 'h', 'w', 'cin', 'cout', 'k'].map(get).join(' ')} (i32.shl ${get('cv')} (i32.const 4)) ${get('accRow')} ${get('cinPad')}`;
  return `;; The filter and bias gradients of a stride-1 'same' convolution, for core's
;; IrnConv2DBackpropFilterBias kernel (filter-grad.ts). GENERATED by
;; packages/core/scripts/filter-grad-wat.mjs (run \`pnpm --filter @irn/core run build:wasm\`); do
;; not edit. It is instantiated on tfjs-backend-wasm's own memory and reads the tensors where
;; they live, channels last: x [n, h, w, cin], dy [n, h, w, cout].
;;
;; dw[kh, kw, ci, co] = sum over b, h, w of x[b, h + kh - pad, w + kw - pad, ci] dy[b, h, w, co],
;; pad = (k - 1) / 2, terms outside the image left out (zero padding). Each tile function keeps
;; a block of ct input channels by nv * 4 output channels in registers while it runs over all
;; pixels of an image: per pixel nv vector loads of dy, ct splat loads of x and nv * ct
;; multiply-adds.
;;
;; Reads past the data: a tile reads up to ${CIN_ALIGN - 1} floats past a pixel's last input channel
;; and up to 3 past its last output channel. Inside the tensors these are the next pixel's values;
;; they only reach scratch entries (ci >= cin or co >= cout) that are never copied out. Past the
;; last pixel the caller guarantees ${OVERREAD} readable bytes.
(module
  (import "env" "memory" (memory 1))
${TILES.map(tileFunc).join('\n')}

  ;; filterGrad(x, dy, acc, dw, n, h, w, cin, cout, k)
  ;; acc: scratch of k k cinPad coutV 16 bytes (cinPad = cin rounded up to ${CIN_ALIGN}, coutV =
  ;; ceil(cout / 4)), 16-byte aligned. dw: [k, k, cin, cout], written (not accumulated).
  (func (export "filterGrad")
    (param $x i32) (param $dy i32) (param $acc i32) (param $dw i32)
    (param $n i32) (param $h i32) (param $w i32) (param $cin i32) (param $cout i32) (param $k i32)
    (local $cinPad i32) (local $coutV i32) (local $accRow i32) (local $p i32) (local $end i32)
    (local $cv i32) (local $nv i32) (local $row i32) (local $rows i32) (local $ci i32) (local $co i32) (local $src i32)
    (local.set $cinPad (i32.and (i32.add ${get('cin')} (i32.const ${CIN_ALIGN - 1})) (i32.const ${-CIN_ALIGN})))
    (local.set $coutV (i32.shr_u (i32.add ${get('cout')} (i32.const 3)) (i32.const 2)))
    (local.set $accRow (i32.shl ${get('coutV')} (i32.const 4)))
    (local.set $rows (i32.mul ${get('cinPad')} (i32.mul ${get('k')} ${get('k')})))
    ;; zero the scratch
    (local.set $p ${get('acc')})
    (local.set $end (i32.add ${get('acc')} (i32.mul ${get('accRow')} ${get('rows')})))
    (loop $zero
      (v128.store ${get('p')} (v128.const i32x4 0 0 0 0))
      (br_if $zero (i32.lt_u (local.tee $p (i32.add ${get('p')} (i32.const 16))) ${get('end')})))
    ;; output channels in tiles of up to 4 vectors
    (local.set $cv (i32.const 0))
    (loop $coTiles
      (local.set $nv (i32.sub ${get('coutV')} ${get('cv')}))
      (if (i32.gt_s ${get('nv')} (i32.const 4)) (then (local.set $nv (i32.const 4))))
${TILES.map(({ nv }) => `      (if (i32.eq ${get('nv')} (i32.const ${nv})) (then (call $tile${nv} ${tileArgs})))`).join('\n')}
      (br_if $coTiles (i32.lt_s (local.tee $cv (i32.add ${get('cv')} ${get('nv')})) ${get('coutV')})))
    ;; copy out: scratch [k k, cinPad, coutV 4] -> dw [k k, cin, cout]
    (local.set $row (i32.const 0))
    (loop $scratchRows
      (local.set $ci (i32.rem_u ${get('row')} ${get('cinPad')}))
      (if (i32.lt_u ${get('ci')} ${get('cin')})
        (then
          (local.set $src (i32.add ${get('acc')} (i32.mul ${get('row')} ${get('accRow')})))
          (local.set $co (i32.const 0))
          (loop $channels
            (f32.store ${get('dw')} (f32.load ${get('src')}))
            (local.set $dw (i32.add ${get('dw')} (i32.const 4)))
            (local.set $src (i32.add ${get('src')} (i32.const 4)))
            (br_if $channels (i32.lt_u (local.tee $co (i32.add ${get('co')} (i32.const 1))) ${get('cout')})))))
      (br_if $scratchRows (i32.lt_u (local.tee $row (i32.add ${get('row')} (i32.const 1))) ${get('rows')}))))

  ;; columnSums(src, dst, pixels, c): dst[j] = sum over p of src[p c + j], j < c (the bias
  ;; gradient: dy summed over batch and space). Sums in float32, pixel by pixel.
  (func (export "columnSums") (param $src i32) (param $dst i32) (param $pixels i32) (param $c i32)
    (local $j i32) (local $p i32) (local $q i32) (local $sum f32) (local $stride i32)
    (local.set $stride (i32.shl ${get('c')} (i32.const 2)))
    (local.set $j (i32.const 0))
    (loop $columns
      (local.set $sum (f32.const 0))
      (local.set $q (i32.add ${get('src')} (i32.shl ${get('j')} (i32.const 2))))
      (local.set $p (i32.const 0))
      (loop $rows
        (local.set $sum (f32.add ${get('sum')} (f32.load ${get('q')})))
        (local.set $q (i32.add ${get('q')} ${get('stride')}))
        (br_if $rows (i32.lt_u (local.tee $p (i32.add ${get('p')} (i32.const 1))) ${get('pixels')})))
      (f32.store (i32.add ${get('dst')} (i32.shl ${get('j')} (i32.const 2))) ${get('sum')})
      (br_if $columns (i32.lt_u (local.tee $j (i32.add ${get('j')} (i32.const 1))) ${get('c')}))))
)
`;
}
