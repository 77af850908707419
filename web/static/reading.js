// Reading the pad: its strokes split into digits and read in one batch (number.js), shown as one
// digit or as a number; live while drawing (at most one read per LIVE_INTERVAL_MS), settled after
// each stroke, with the server's native Keras model's answer beside it where the server offers one.

import { agreement, nativePredict } from './api.js';
import { numberOf, readStrokes } from './number.js';

const LIVE_INTERVAL_MS = 50;
const NOTHING = { digits: [], whole: null, ms: 0 };

export class PadReader {
  /** `pad` (pad.js), `view` (ui.js ResultView), `runtimes` (runtimes.js), `onError` for live reads. */
  constructor({ pad, view, runtimes, onError }) {
    Object.assign(this, { pad, view, runtimes, onError });
    this.nativeOn = false; // the server answers /api/predict
    this.nativeSeq = 0; // the read whose native answer may still be shown
    this.liveQueued = false;
    this.lastLive = 0;
  }

  /**
   * Read the pad without showing it: {digits: [{digit, probabilities, box, members, pixels, unsure}],
   * whole, ms}, the whole drawing read as one digit beside its digits; digits empty when nothing is drawn.
   */
  async read() {
    const strokes = this.pad.allStrokes();
    const model = this.runtimes.model;
    if (!model || !strokes.length) return NOTHING;
    return readStrokes(strokes, this.runtimes.contract, (batch) => model.predict(batch));
  }

  /** Read the pad and show it: {digit, probs, ms, pixels, unsure, number, confidence, digits}. */
  async show() {
    const { digits, whole, ms } = await this.read();
    if (!digits.length) {
      this.view.reset();
      return { digit: null, probs: null, ms: 0, pixels: null, digits: [] };
    }
    const { number, confidence } = numberOf(digits, this.runtimes.contract.labels);
    if (digits.length === 1) {
      this.view.show(digits[0].probabilities, digits[0].pixels, ms, digits[0].unsure);
    } else {
      this.view.showNumber(number, confidence, digits, ms);
    }
    return {
      digit: whole.digit, probs: whole.probabilities, ms, pixels: whole.pixels,
      unsure: digits.length === 1 ? digits[0].unsure : null, number, confidence, digits,
    };
  }

  /** While drawing: a read at most every LIVE_INTERVAL_MS, never two queued. */
  scheduleLive() {
    if (!this.runtimes.model || this.liveQueued) return;
    this.liveQueued = true;
    const wait = Math.max(0, this.lastLive + LIVE_INTERVAL_MS - performance.now());
    setTimeout(() => {
      this.runtimes.enqueue(async () => {
        this.liveQueued = false;
        this.lastLive = performance.now();
        await this.show();
      }).catch(this.onError);
    }, wait);
  }

  /** The settled answer after a stroke, an undo or on request: read, announce, check natively. */
  async settle() {
    if (!this.runtimes.model) return { digit: null, probs: null, ms: 0 };
    const result = await this.runtimes.enqueue(() => this.show());
    this.pad.showGroups(result.digits?.length > 1 ? result.digits.map((d) => d.box) : []);
    this.view.announceResult(result.digit, result.probs, result);
    if (result.digit === null) {
      this.nativeSeq += 1;
      this.view.showNative(this.nativeOn ? null : { off: 'off' });
    } else {
      this.checkNative(result);
    }
    return {
      digit: result.digit, probs: result.probs, ms: result.ms, unsure: result.unsure ?? null,
      number: result.number ?? null, confidence: result.confidence ?? null,
    };
  }

  /** The number on the pad: {number, confidence, unsure, digits: [{digit, probabilities, box, members, unsure}]}. */
  async readNumber() {
    const result = await this.settle().then(() => this.runtimes.enqueue(() => this.read()));
    const digits = result.digits.map(({ digit, probabilities, box, members, unsure }) => ({
      digit, probabilities, box, members, unsure,
    }));
    if (!digits.length) return { number: null, confidence: null, digits };
    return { ...numberOf(digits, this.runtimes.contract.labels), unsure: digits.some((d) => d.unsure), digits };
  }

  /** Whether the server checks answers with the native model; shown as off when it does not. */
  setNative(on) {
    this.nativeOn = on;
    if (!on) this.view.showNative({ off: 'off' });
  }

  /** The pad was cleared: no answer, and no native answer still to come. */
  cleared() {
    this.nativeSeq += 1;
    this.view.reset();
    this.view.announceResult(null);
    if (!this.nativeOn) this.view.showNative({ off: 'off' });
  }

  async checkNative(result) {
    if (!this.nativeOn || !result.pixels) return;
    const seq = ++this.nativeSeq;
    this.view.showNative({ pending: true });
    try {
      const native = await nativePredict(result.pixels, this.runtimes.contract);
      if (seq === this.nativeSeq) this.view.showNative(agreement(result.probs, native.probs));
    } catch (err) {
      if (seq === this.nativeSeq) this.view.showNative({ error: `check failed: ${err.message}` });
    }
  }
}
