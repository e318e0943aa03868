/**
 * Writes the WebAssembly text (SIMD) of core's convolution kernels: the forward stride-1
 * 'same' conv (src/layers/conv-forward.wat) and its filter and bias gradients
 * (src/layers/filter-grad.wat). The inner loops are unrolled over a tile of accumulators held
 * in registers, one function per tile width, so the text is generated rather than written by
 * hand. `build-wasm.mjs` writes the .wat files and compiles them; a test checks that the
 * committed files are what this generator and wabt give.
 */

/**
 * The filter gradient's tiles: `nv` vectors of 4 output channels by `ct` input channels, nv * ct accumulators.
 * Eight accumulators is what x64's 16 SIMD registers hold without spills next to the nv dy
 * vectors (measured: 12 accumulators ran at half the speed). `ct` must divide CIN_ALIGN.
 */
export const GRAD_TILES = [
  { nv: 1, ct: 4 },
  { nv: 2, ct: 4 },
  { nv: 3, ct: 2 },
  { nv: 4, ct: 2 },
];
/** The scratch's rows of input channels are padded to a multiple of this. */
export const CIN_ALIGN = 4;
/**
 * Bytes the kernels may read past the end of an input (x or dy in the filter gradient, the
 * filter in the forward conv), and read and write back unchanged past the end of the forward
 * conv's output.
 */
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

/** The filter-gradient module's text. */
export function filterGradWat() {
  const tileArgs = `${['x', 'dy', 'acc', 'n', 'h', 'w', 'cin', 'cout', 'k'].map(get).join(' ')} (i32.shl ${get('cv')} (i32.const 4)) ${get('accRow')} ${get('cinPad')}`;
  return `;; The filter and bias gradients of a stride-1 'same' convolution, for core's
;; IrnConv2DBackpropFilterBias kernel (conv-simd.ts). ${GENERATED}
;; It reads the tensors where they live, channels last: x [n, h, w, cin], dy [n, h, w, cout].
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
${GRAD_TILES.map(tileFunc).join('\n')}

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
${GRAD_TILES.map(({ nv }) => `      (if (i32.eq ${get('nv')} (i32.const ${nv})) (then (call $tile${nv} ${tileArgs})))`).join('\n')}
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

const GENERATED = `GENERATED by packages/core/scripts/conv-simd-wat.mjs (run
;; \`pnpm --filter @irn/core run build:wasm\`); do not edit. It is instantiated on
;; tfjs-backend-wasm's own memory.`;

/**
 * The forward conv's tiles: `nv` vectors of 4 output channels for `pt` neighbouring pixels of
 * a row, nv * pt accumulators (eight at most, as above).
 */
export const FORWARD_TILES = [
  { nv: 1, pt: 4 },
  { nv: 2, pt: 4 },
  { nv: 3, pt: 2 },
  { nv: 4, pt: 2 },
];

/**
 * The forward conv's multiply-adds and stores for `pt` pixels of a row from column $c, kernel
 * columns $kwLo .. $kwHi - 1, output channels $co0 .. + 16 nv bytes.
 */
function forwardBody(nv, pt, indent) {
  const L = [];
  for (const p of range(pt)) for (const v of range(nv)) L.push(`(local.set $a${p}_${v} (v128.load offset=${16 * v} (i32.add ${get('bias')} ${get('co0')})))`);
  L.push(`;; along a row, x[.., c + kw - pad, ci] and wt[kh, kw, ci, ..] are both contiguous over`);
  L.push(`;; (kw, ci): one run of (kwHi - kwLo) cin steps per kernel row`);
  L.push(`(local.set $run (i32.mul (i32.sub ${get('kwHi')} ${get('kwLo')}) ${get('cin')}))`);
  L.push(`(local.set $kh ${get('khLo')})`);
  L.push(`(loop $kernelRows${pt}`);
  L.push(`  ;; x0 = x + 4 cin ((rowX + kh - pad) w + c + kwLo - pad), rowX = b h + hh`);
  L.push(`  (local.set $x0 (i32.add ${get('x')} (i32.mul ${get('xs')} (i32.sub (i32.add (i32.add ${get('c')} ${get('kwLo')}) (i32.mul ${get('w')} (i32.sub (i32.add ${get('rowX')} ${get('kh')}) ${get('pad')}))) ${get('pad')}))))`);
  for (const p of range(pt).slice(1)) L.push(`  (local.set $x${p} (i32.add (local.get $x${p - 1}) ${get('xs')}))`);
  L.push(`  ;; wp = wt + 4 cout cin (kh k + kwLo) + co0`);
  L.push(`  (local.set $wp (i32.add (i32.add ${get('wt')} ${get('co0')}) (i32.mul (i32.mul ${get('ws')} ${get('cin')}) (i32.add ${get('kwLo')} (i32.mul ${get('kh')} ${get('k')})))))`);
  L.push(`  (local.set $i ${get('run')})`);
  L.push(`  (loop $run${pt}`);
  for (const v of range(nv)) L.push(`    (local.set $d${v} (v128.load offset=${16 * v} ${get('wp')}))`);
  for (const p of range(pt)) {
    L.push(`    (local.set $s (v128.load32_splat ${get(`x${p}`)}))`);
    for (const v of range(nv)) L.push(`    (local.set $a${p}_${v} (f32x4.add ${get(`a${p}_${v}`)} (f32x4.mul ${get('s')} ${get(`d${v}`)})))`);
    L.push(`    (local.set $x${p} (i32.add ${get(`x${p}`)} (i32.const 4)))`);
  }
  L.push(`    (local.set $wp (i32.add ${get('wp')} ${get('ws')}))`);
  L.push(`    (br_if $run${pt} (local.tee $i (i32.sub ${get('i')} (i32.const 1)))))`);
  L.push(`  (br_if $kernelRows${pt} (i32.lt_s (local.tee $kh (i32.add ${get('kh')} (i32.const 1))) ${get('khHi')})))`);
  L.push(`;; o = out + 4 cout (rowX w + c) + co0; a partial last vector keeps the bytes after it`);
  L.push(`(local.set $o (i32.add (i32.add ${get('out')} ${get('co0')}) (i32.mul ${get('ws')} (i32.add ${get('c')} (i32.mul ${get('rowX')} ${get('w')})))))`);
  for (const p of range(pt)) {
    for (const v of range(nv - 1)) L.push(`(v128.store offset=${16 * v} ${get('o')} ${get(`a${p}_${v}`)})`);
    const last = get(`a${p}_${nv - 1}`);
    const off = 16 * (nv - 1);
    L.push(`(if ${get('partial')}`);
    L.push(`  (then (v128.store offset=${off} ${get('o')} (v128.bitselect ${last} (v128.load offset=${off} ${get('o')}) ${get('mask')})))`);
    L.push(`  (else (v128.store offset=${off} ${get('o')} ${last})))`);
    if (p < pt - 1) L.push(`(local.set $o (i32.add ${get('o')} ${get('ws')}))`);
  }
  return L.map((l) => ' '.repeat(indent) + l).join('\n');
}

/** One output row of the forward conv for output channels $co0 .. + 16 nv bytes. */
function forwardRowFunc({ nv, pt }) {
  const v128s = [...range(pt).flatMap((p) => range(nv).map((v) => `$a${p}_${v}`)), ...range(nv).map((v) => `$d${v}`), '$s'];
  const kwLo = `(select (i32.sub ${get('pad')} ${get('c')}) (i32.const 0) (i32.gt_s (i32.sub ${get('pad')} ${get('c')}) (i32.const 0)))`;
  const kwHi = `(select (i32.sub (i32.add ${get('w')} ${get('pad')}) ${get('c')}) ${get('k')} (i32.lt_s (i32.sub (i32.add ${get('w')} ${get('pad')}) ${get('c')}) ${get('k')}))`;
  return `
  ;; out[rowX, c, co0/4 .. + ${nv}] for every column c: ${pt} pixels at a time where the whole kernel
  ;; is inside the row, else one pixel with the kernel columns that are.
  (func $row${nv}
    (param $x i32) (param $wt i32) (param $bias i32) (param $out i32) (param $rowX i32)
    (param $khLo i32) (param $khHi i32) (param $w i32) (param $cin i32) (param $cout i32) (param $k i32)
    (param $co0 i32) (param $partial i32) (param $mask v128)
    (local $c i32) (local $kwLo i32) (local $kwHi i32) (local $kh i32) (local $run i32) (local $i i32) (local $pad i32)
    (local $xs i32) (local $ws i32) (local $wp i32) (local $o i32) ${range(pt).map((p) => `(local $x${p} i32)`).join(' ')}
    ${v128s.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $pad (i32.shr_u (i32.sub ${get('k')} (i32.const 1)) (i32.const 1)))
    (local.set $xs (i32.shl ${get('cin')} (i32.const 2)))
    (local.set $ws (i32.shl ${get('cout')} (i32.const 2)))
    (loop $cols
      (if (i32.and (i32.ge_s ${get('c')} ${get('pad')}) (i32.lt_s (i32.add (i32.add ${get('c')} (i32.const ${pt - 1})) ${get('pad')}) ${get('w')}))
        (then
          (local.set $kwLo (i32.const 0))
          (local.set $kwHi ${get('k')})
${forwardBody(nv, pt, 10)}
          (local.set $c (i32.add ${get('c')} (i32.const ${pt}))))
        (else
          (local.set $kwLo ${kwLo})
          (local.set $kwHi ${kwHi})
${forwardBody(nv, 1, 10)}
          (local.set $c (i32.add ${get('c')} (i32.const 1)))))
      (br_if $cols (i32.lt_s ${get('c')} ${get('w')}))))`;
}

/** The forward conv's exported entry: rows, then tiles of output channels. */
function forwardFunc() {
  const rowArgs = `${['x', 'wt', 'bias', 'out', 'rowX', 'khLo', 'khHi', 'w', 'cin', 'cout', 'k'].map(get).join(' ')} (i32.shl ${get('cv')} (i32.const 4)) ${get('partial')} ${get('mask')}`;
  return `
  ;; conv2d(x, wt, bias, out, n, h, w, cin, cout, k)
  ;; out[b, i, j, co] = bias[co] + sum over kh, kw, ci of x[b, i + kh - pad, j + kw - pad, ci] wt[kh, kw, ci, co]
  ;; (zero padding), summed in the order kh, kw, ci with separate multiplies and adds, as
  ;; XNNPACK does: the results equal tfjs-wasm's Conv2D bit for bit. bias: ceil(cout / 4) 16
  ;; bytes (the caller pads it). wt is read up to 12 bytes past its end, and where cout is not
  ;; a multiple of 4 each pixel's last vector is read and written back up to 12 bytes past
  ;; its channels, unchanged: the caller guarantees ${OVERREAD} bytes of memory after wt and out.
  (func (export "conv2d")
    (param $x i32) (param $wt i32) (param $bias i32) (param $out i32)
    (param $n i32) (param $h i32) (param $w i32) (param $cin i32) (param $cout i32) (param $k i32)
    (local $pad i32) (local $coutV i32) (local $rem i32) (local $mask v128) (local $rowX i32) (local $rows i32) (local $hh i32)
    (local $khLo i32) (local $khHi i32) (local $cv i32) (local $nv i32) (local $partial i32)
    (local.set $pad (i32.shr_u (i32.sub ${get('k')} (i32.const 1)) (i32.const 1)))
    (local.set $coutV (i32.shr_u (i32.add ${get('cout')} (i32.const 3)) (i32.const 2)))
    ;; channels in the last vector, and a mask of them
    (local.set $rem (i32.sub ${get('cout')} (i32.shl (i32.sub ${get('coutV')} (i32.const 1)) (i32.const 2))))
    (local.set $mask (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat ${get('rem')})))
    (local.set $rows (i32.mul ${get('n')} ${get('h')}))
    (loop $outRows
      (local.set $hh (i32.rem_u ${get('rowX')} ${get('h')}))
      (local.set $khLo (select (i32.sub ${get('pad')} ${get('hh')}) (i32.const 0) (i32.gt_s (i32.sub ${get('pad')} ${get('hh')}) (i32.const 0))))
      (local.set $khHi (select (i32.sub (i32.add ${get('h')} ${get('pad')}) ${get('hh')}) ${get('k')} (i32.lt_s (i32.sub (i32.add ${get('h')} ${get('pad')}) ${get('hh')}) ${get('k')})))
      (local.set $cv (i32.const 0))
      (loop $coTiles
        (local.set $nv (i32.sub ${get('coutV')} ${get('cv')}))
        (if (i32.gt_s ${get('nv')} (i32.const 4)) (then (local.set $nv (i32.const 4))))
        (local.set $partial (i32.and (i32.eq (i32.add ${get('cv')} ${get('nv')}) ${get('coutV')}) (i32.lt_s ${get('rem')} (i32.const 4))))
${FORWARD_TILES.map(({ nv }) => `        (if (i32.eq ${get('nv')} (i32.const ${nv})) (then (call $row${nv} ${rowArgs})))`).join('\n')}
        (br_if $coTiles (i32.lt_s (local.tee $cv (i32.add ${get('cv')} ${get('nv')})) ${get('coutV')})))
      (br_if $outRows (i32.lt_s (local.tee $rowX (i32.add ${get('rowX')} (i32.const 1))) ${get('rows')}))))`;
}

/** The forward conv module's text. */
export function convForwardWat() {
  return `;; A stride-1 'same' convolution with bias, for core's IrnConv2D kernel (conv-simd.ts).
;; ${GENERATED}
;; It reads and writes the tensors where they live, channels last: x [n, h, w, cin], out
;; [n, h, w, cout], the filter wt [k, k, cin, cout].
;;
;; Each row function keeps nv * 4 output channels of pt neighbouring pixels in registers and
;; runs over the kernel: per step nv vector loads of the filter, pt splat loads of x and
;; nv * pt multiply-adds.
(module
  (import "env" "memory" (memory 1))
${FORWARD_TILES.map(forwardRowFunc).join('\n')}
${forwardFunc()}
)
`;
}
