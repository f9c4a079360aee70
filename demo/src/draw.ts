/**
 * A drawing pad and the MNIST-style preparation of what was drawn: MNIST digits are fitted into
 * a 20 × 20 box (aspect kept) and centred by centre of mass in 28 × 28 (LeCun et al.). The
 * resampling is the canvas's own (`drawImage` with high-quality smoothing).
 */

/** Turns `canvas` into a pad: white strokes on black, pointer (mouse, pen, touch) input. */
export function drawingPad(canvas: HTMLCanvasElement, onStroke: () => void): { clear(): void } {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!; // read back by toMnist after every stroke
  const clear = (): void => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: { x: number; y: number } | null = null;
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * canvas.width) / r.width, y: ((e.clientY - r.top) * canvas.height) / r.height };
  };
  const line = (a: { x: number; y: number }, b: { x: number; y: number }): void => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
    line(last, last);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    line(last, p);
    last = p;
  });
  const end = (): void => {
    if (!last) return;
    last = null;
    onStroke();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return { clear };
}

/** The drawing as a 28 × 28 MNIST-style image (784 intensities 0 … 255, row-major), or null if blank. */
export function toMnist(canvas: HTMLCanvasElement): Float32Array | null {
  const { width: W, height: H } = canvas;
  const src = canvas.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (src[(y * W + x) * 4]! > 16) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = 20 / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale)), h = Math.max(1, Math.round(bh * scale));
  const box = document.createElement('canvas');
  box.width = w;
  box.height = h;
  const bctx = box.getContext('2d', { willReadFrequently: true })!;
  bctx.imageSmoothingEnabled = true;
  bctx.imageSmoothingQuality = 'high';
  bctx.drawImage(canvas, x0, y0, bw, bh, 0, 0, w, h);
  const small = bctx.getImageData(0, 0, w, h).data;
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[(y * w + x) * 4]!;
      mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
    }
  }
  const ox = Math.round(14 - mx / mass), oy = Math.round(14 - my / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + ox, Y = y + oy;
      if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = small[(y * w + x) * 4]!;
    }
  }
  return out;
}

/** Paints a 28 × 28 image (0 … 255) into `canvas`, scaled up without smoothing. */
export function paintDigit(canvas: HTMLCanvasElement, pixels: ArrayLike<number>): void {
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.max(0, Math.min(255, pixels[i]!));
    img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}
