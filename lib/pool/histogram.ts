/**
 * A fixed-memory latency histogram: log-linear buckets (8 sub-buckets per power of two)
 * over microseconds, so recording is O(1) and percentiles are within ~12% of the truth.
 */
const kSub = 8;
const kBuckets = 64 * kSub;

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly count: number;
}

export class Histogram {
  readonly #counts = new Float64Array(kBuckets);
  #count = 0;

  /** Records one sample, in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    this.#counts[bucketOf(us)]!++;
    this.#count++;
  }

  percentiles(): Percentiles {
    return { p50: this.#at(0.5), p90: this.#at(0.9), p99: this.#at(0.99), count: this.#count };
  }

  /** Value in milliseconds below which the fraction q of samples lie (bucket midpoint). */
  #at(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let b = 0; b < kBuckets; b++) {
      seen += this.#counts[b]!;
      if (seen >= rank) return midpointOf(b) / 1000;
    }
    return midpointOf(kBuckets - 1) / 1000;
  }
}

/** Bucket of a sample in µs: bucketOfSlow's result, with integer arithmetic below 2^31 µs. */
function bucketOf(us: number): number {
  if (!(us >= 1)) return 0;
  if (!(us < 2147483648)) return bucketOfSlow(us);
  const i = us >>> 0; // floor(us): same leading bit as us
  const exp = 31 - Math.clz32(i);
  // The 3 bits (kSub = 8) after the leading one pick the sub-bucket (floor(floor(us) / 2^k) = floor(us / 2^k)).
  const sub = exp >= 3 ? (i >>> (exp - 3)) & 7 : Math.floor((us / (1 << exp) - 1) * kSub);
  return (exp + 1) * kSub + sub;
}

function bucketOfSlow(us: number): number {
  if (!(us >= 1)) return 0;
  const exp = Math.floor(Math.log2(us));
  const frac = us / 2 ** exp - 1; // [0, 1)
  const b = (exp + 1) * kSub + Math.floor(frac * kSub);
  return b >= kBuckets ? kBuckets - 1 : b;
}

function midpointOf(b: number): number {
  if (b < kSub) return 0.5;
  const exp = Math.floor(b / kSub) - 1;
  const sub = b % kSub;
  return 2 ** exp * (1 + (sub + 0.5) / kSub);
}
