// The drawing pad: pointer events (mouse, touch, pen), smooth round strokes, undo, clear, and a
// faint box around each digit of a number read (showGroups), so a person sees how the strokes
// were grouped. Strokes and boxes are kept in pad-relative coordinates (0..1), so a resize
// redraws them exactly.

// Pen width on the pad as a fraction of its side: only what the person sees. The model does not
// read these pixels: strokes.js re-draws the strokes (kept here) with a pen scaled to each
// digit's size, so a small digit is read as well as a big one.
export const LINE_WIDTH = 0.09;
const INK = '#ffffff';
const GROUP_BOX = 'rgba(148, 163, 184, 0.6)'; // faint slate: seen, not mistaken for ink
const GROUP_BOX_PX = 1.5; // line width in CSS pixels

export class Pad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onDraw?: () => void, onStrokeEnd?: () => void, onClear?: () => void}} handlers
   */
  constructor(canvas, handlers = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.handlers = handlers;
    this.strokes = [];
    this.current = null;
    this.pointerId = null;
    this.lineWidth = LINE_WIDTH;
    this.groupBoxes = [];
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    canvas.addEventListener('lostpointercapture', (e) => this.up(e));
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  /** True when nothing is drawn. */
  get empty() {
    return this.strokes.length === 0 && this.current === null;
  }

  /** Match the backing store to the displayed size × devicePixelRatio, then redraw. */
  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const side = Math.max(28, Math.round(Math.min(rect.width, rect.height || rect.width) * ratio));
    if (this.canvas.width === side && this.canvas.height === side) return;
    this.canvas.width = side;
    this.canvas.height = side;
    this.redraw();
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  }

  down(event) {
    if (this.pointerId !== null || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    this.pointerId = event.pointerId;
    if (this.groupBoxes.length) this.showGroups([]);
    try {
      this.canvas.setPointerCapture?.(event.pointerId);
    } catch {
      // the pointer is already gone (or a replayed event): draw without capture
    }
    this.current = [this.point(event)];
    this.drawDot(this.current[0]);
    this.handlers.onDraw?.();
  }

  move(event) {
    if (event.pointerId !== this.pointerId || this.current === null) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      this.current.push(this.point(e));
      this.drawTail(this.current);
    }
    this.handlers.onDraw?.();
  }

  up(event) {
    if (event.pointerId !== this.pointerId || this.current === null) return;
    if (event.type === 'pointerup') this.current.push(this.point(event));
    this.strokes.push(this.current);
    this.current = null;
    this.pointerId = null;
    this.redraw();
    this.handlers.onStrokeEnd?.();
  }

  /** The strokes (arrays of [x, y] pad fractions), the one being drawn included. */
  allStrokes() {
    return this.current ? [...this.strokes, this.current] : this.strokes;
  }

  /** Change the pen shown on the pad (fraction of its side); the model's reading does not depend on it. */
  setLineWidth(fraction) {
    this.lineWidth = fraction;
    this.redraw();
  }

  /** Remove the last stroke. */
  undo() {
    if (!this.strokes.length) return;
    this.strokes.pop();
    this.groupBoxes = [];
    this.redraw();
    this.handlers.onStrokeEnd?.();
  }

  /** Remove everything. */
  clear() {
    this.strokes = [];
    this.current = null;
    this.pointerId = null;
    this.groupBoxes = [];
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.handlers.onClear?.();
  }

  style() {
    const { ctx } = this;
    ctx.globalCompositeOperation = 'source-over';
    ctx.globalAlpha = 1;
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = this.lineWidth * this.canvas.width;
  }

  px([x, y]) {
    return [x * this.canvas.width, y * this.canvas.height];
  }

  drawDot(p) {
    this.style();
    const [x, y] = this.px(p);
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.ctx.lineWidth / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  }

  /** Draw the newest piece of a stroke: a quadratic curve between midpoints of the last points. */
  drawTail(points) {
    const n = points.length;
    if (n < 2) return;
    this.style();
    const { ctx } = this;
    const p0 = this.px(points[Math.max(0, n - 3)]);
    const p1 = this.px(points[n - 2]);
    const p2 = this.px(points[n - 1]);
    const start = n >= 3 ? [(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2] : p1;
    const end = [(p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2];
    ctx.beginPath();
    ctx.moveTo(start[0], start[1]);
    ctx.quadraticCurveTo(p1[0], p1[1], end[0], end[1]);
    ctx.lineTo(p2[0], p2[1]);
    ctx.stroke();
  }

  /** A whole stroke as one smooth path (used on stroke end, undo and resize). */
  drawStroke(points) {
    if (points.length === 1) {
      this.drawDot(points[0]);
      return;
    }
    this.style();
    const { ctx } = this;
    const pts = points.map((p) => this.px(p));
    ctx.beginPath();
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (let i = 1; i < pts.length - 1; i += 1) {
      const mid = [(pts[i][0] + pts[i + 1][0]) / 2, (pts[i][1] + pts[i + 1][1]) / 2];
      ctx.quadraticCurveTo(pts[i][0], pts[i][1], mid[0], mid[1]);
    }
    const last = pts[pts.length - 1];
    ctx.lineTo(last[0], last[1]);
    ctx.stroke();
  }

  /**
   * Show a faint box around each digit's strokes ({left, top, right, bottom} pad fractions), until
   * the drawing changes; [] hides them.
   */
  showGroups(boxes) {
    this.groupBoxes = boxes.filter(Boolean).map((b) => ({ ...b }));
    this.redraw();
  }

  drawGroupBoxes() {
    const { ctx, canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const margin = (this.lineWidth * canvas.width) / 2 + 3 * ratio; // outside the pen's ink
    ctx.save();
    ctx.strokeStyle = GROUP_BOX;
    ctx.lineWidth = GROUP_BOX_PX * ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    for (const box of this.groupBoxes) {
      const [left, top] = this.px([box.left, box.top]);
      const [right, bottom] = this.px([box.right, box.bottom]);
      ctx.strokeRect(left - margin, top - margin, right - left + 2 * margin, bottom - top + 2 * margin);
    }
    ctx.restore();
  }

  redraw() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const stroke of this.strokes) this.drawStroke(stroke);
    if (this.current) this.drawStroke(this.current);
    this.drawGroupBoxes();
  }
}
