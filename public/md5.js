// MD5 (RFC 1321), incremental over Uint8Array, for the hashing worker's Content-MD5 (stores
// such as Backblaze B2 and Google Cloud Storage refuse SHA-256 checksum headers; Web Crypto
// has no MD5). A classic script: the worker loads it with importScripts("/md5.js") the first
// time it is asked for an MD5; it defines `Md5` on the global object and nothing else.
//
// Our own, not vendored. spark-md5 (npm, 3.0.2, the latest; licence WTFPL OR MIT;
// https://github.com/satazor/js-spark-md5) was the candidate, but its ArrayBuffer hasher
// takes whole ArrayBuffers, not views into the worker's shared buffer (a part would have to
// be sliced, that is copied), copies each appended chunk once more to join it to the
// previous tail, and makes a 16-word array per 64-byte block (80 million arrays of garbage
// for a 5 GiB part); in node 20 it hashed 256 MiB at 30-50 MiB/s where this one does about
// 300. This one reads the caller's bytes where they are: 64-byte blocks are compressed
// straight from the caller's Uint8Array (through an Int32Array view of the same memory
// where it is 4-byte aligned and the machine little-endian, as every browser's is; else word
// by word from the bytes), and only a block split between two `update`s is copied, into a
// 64-byte tail. Nothing is allocated per block; one view per 16 MiB. The length is counted
// in a double, exact far past 5 GiB, and written as the 64-bit count of bits.
// Checked against node's crypto by end2end/unit/hash-worker.test.mjs.
//
//   const md5 = new Md5();
//   md5.update(bytes);      // any number of times, any sizes
//   md5.digest();           // Uint8Array(16); the hasher is finished then

(function () {
  "use strict";

  const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  /** Aligned runs are compressed through one view per this many bytes (a multiple of 64). */
  const VIEW_BYTES = 16 << 20;

  class Md5 {
    constructor() {
      this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
      /** The bytes of a block not yet complete, and how many there are. */
      this.tail = new Uint8Array(64);
      this.tailLength = 0;
      /** Words of a block read byte by byte (unaligned bytes, or the tail). */
      this.words = new Int32Array(16);
      /** Bytes hashed so far. */
      this.length = 0;
      this.finished = false;
    }

    /** Adds `bytes` (a Uint8Array, read and not kept) to what is hashed. */
    update(bytes) {
      if (this.finished) throw new Error("Md5: update after digest");
      const n = bytes.length;
      this.length += n;
      let pos = 0;
      if (this.tailLength > 0) {
        const take = Math.min(64 - this.tailLength, n);
        this.tail.set(bytes.subarray(0, take), this.tailLength);
        this.tailLength += take;
        pos = take;
        if (this.tailLength < 64) return this;
        this.compressBytes(this.tail, 0);
        this.tailLength = 0;
      }
      pos = this.blocks(bytes, pos, n - ((n - pos) % 64));
      if (pos < n) {
        this.tail.set(bytes.subarray(pos, n), 0);
        this.tailLength = n - pos;
      }
      return this;
    }

    /** Compresses the whole blocks of bytes[from, to) (a multiple of 64 long); gives `to`. */
    blocks(bytes, from, to) {
      const state = this.state;
      let pos = from;
      if (LITTLE_ENDIAN && (bytes.byteOffset + pos) % 4 === 0) {
        while (pos < to) {
          const length = Math.min(VIEW_BYTES, to - pos);
          const view = new Int32Array(bytes.buffer, bytes.byteOffset + pos, length >> 2);
          for (let o = 0; o < view.length; o += 16) compress(state, view, o);
          pos += length;
        }
      } else {
        for (; pos < to; pos += 64) this.compressBytes(bytes, pos);
      }
      return pos;
    }

    /** Compresses the block at bytes[pos, pos + 64), read byte by byte. */
    compressBytes(bytes, pos) {
      const words = this.words;
      for (let i = 0; i < 16; i++, pos += 4) {
        words[i] =
          bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
      }
      compress(this.state, words, 0);
    }

    /** The 16-byte MD5 of everything given to `update`. */
    digest() {
      if (this.finished) throw new Error("Md5: digest twice");
      this.finished = true;
      const tail = this.tail;
      let used = this.tailLength;
      tail[used++] = 0x80;
      if (used > 56) {
        tail.fill(0, used);
        this.compressBytes(tail, 0);
        used = 0;
      }
      tail.fill(0, used, 56);
      // The length in bits, 64-bit little-endian (a double holds it exactly: lengths are far
      // below 2^50 bytes).
      const bits = this.length * 8;
      const low = bits % 4294967296;
      const high = (bits - low) / 4294967296;
      for (let i = 0; i < 4; i++) {
        tail[56 + i] = (low >>> (8 * i)) & 0xff;
        tail[60 + i] = (high >>> (8 * i)) & 0xff;
      }
      this.compressBytes(tail, 0);
      const out = new Uint8Array(16);
      for (let i = 0; i < 16; i++) out[i] = (this.state[i >> 2] >>> (8 * (i & 3))) & 0xff;
      return out;
    }
  }

  /**
   * One 64-byte block, the 16 words x[o, o + 16), into `state`. RFC 1321's 64 steps, each
   * a = b + ((a + f(b, c, d) + x[k] + T[i]) <<< s) with f = F, G, H, I by round, written out
   * whole: as calls to four small step functions this ran 7 times slower in V8 (64 calls are
   * past what TurboFan inlines into one function). T[i] = floor(2^32 * |sin(i)|), as signed
   * 32-bit integers so that every sum stays in integer arithmetic.
   */
  function compress(state, x, o) {
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];

    a = (a + ((b & c) | (~b & d)) + x[o + 0] - 680876936) | 0;
    a = (((a << 7) | (a >>> 25)) + b) | 0;
    d = (d + ((a & b) | (~a & c)) + x[o + 1] - 389564586) | 0;
    d = (((d << 12) | (d >>> 20)) + a) | 0;
    c = (c + ((d & a) | (~d & b)) + x[o + 2] + 606105819) | 0;
    c = (((c << 17) | (c >>> 15)) + d) | 0;
    b = (b + ((c & d) | (~c & a)) + x[o + 3] - 1044525330) | 0;
    b = (((b << 22) | (b >>> 10)) + c) | 0;
    a = (a + ((b & c) | (~b & d)) + x[o + 4] - 176418897) | 0;
    a = (((a << 7) | (a >>> 25)) + b) | 0;
    d = (d + ((a & b) | (~a & c)) + x[o + 5] + 1200080426) | 0;
    d = (((d << 12) | (d >>> 20)) + a) | 0;
    c = (c + ((d & a) | (~d & b)) + x[o + 6] - 1473231341) | 0;
    c = (((c << 17) | (c >>> 15)) + d) | 0;
    b = (b + ((c & d) | (~c & a)) + x[o + 7] - 45705983) | 0;
    b = (((b << 22) | (b >>> 10)) + c) | 0;
    a = (a + ((b & c) | (~b & d)) + x[o + 8] + 1770035416) | 0;
    a = (((a << 7) | (a >>> 25)) + b) | 0;
    d = (d + ((a & b) | (~a & c)) + x[o + 9] - 1958414417) | 0;
    d = (((d << 12) | (d >>> 20)) + a) | 0;
    c = (c + ((d & a) | (~d & b)) + x[o + 10] - 42063) | 0;
    c = (((c << 17) | (c >>> 15)) + d) | 0;
    b = (b + ((c & d) | (~c & a)) + x[o + 11] - 1990404162) | 0;
    b = (((b << 22) | (b >>> 10)) + c) | 0;
    a = (a + ((b & c) | (~b & d)) + x[o + 12] + 1804603682) | 0;
    a = (((a << 7) | (a >>> 25)) + b) | 0;
    d = (d + ((a & b) | (~a & c)) + x[o + 13] - 40341101) | 0;
    d = (((d << 12) | (d >>> 20)) + a) | 0;
    c = (c + ((d & a) | (~d & b)) + x[o + 14] - 1502002290) | 0;
    c = (((c << 17) | (c >>> 15)) + d) | 0;
    b = (b + ((c & d) | (~c & a)) + x[o + 15] + 1236535329) | 0;
    b = (((b << 22) | (b >>> 10)) + c) | 0;

    a = (a + ((b & d) | (c & ~d)) + x[o + 1] - 165796510) | 0;
    a = (((a << 5) | (a >>> 27)) + b) | 0;
    d = (d + ((a & c) | (b & ~c)) + x[o + 6] - 1069501632) | 0;
    d = (((d << 9) | (d >>> 23)) + a) | 0;
    c = (c + ((d & b) | (a & ~b)) + x[o + 11] + 643717713) | 0;
    c = (((c << 14) | (c >>> 18)) + d) | 0;
    b = (b + ((c & a) | (d & ~a)) + x[o + 0] - 373897302) | 0;
    b = (((b << 20) | (b >>> 12)) + c) | 0;
    a = (a + ((b & d) | (c & ~d)) + x[o + 5] - 701558691) | 0;
    a = (((a << 5) | (a >>> 27)) + b) | 0;
    d = (d + ((a & c) | (b & ~c)) + x[o + 10] + 38016083) | 0;
    d = (((d << 9) | (d >>> 23)) + a) | 0;
    c = (c + ((d & b) | (a & ~b)) + x[o + 15] - 660478335) | 0;
    c = (((c << 14) | (c >>> 18)) + d) | 0;
    b = (b + ((c & a) | (d & ~a)) + x[o + 4] - 405537848) | 0;
    b = (((b << 20) | (b >>> 12)) + c) | 0;
    a = (a + ((b & d) | (c & ~d)) + x[o + 9] + 568446438) | 0;
    a = (((a << 5) | (a >>> 27)) + b) | 0;
    d = (d + ((a & c) | (b & ~c)) + x[o + 14] - 1019803690) | 0;
    d = (((d << 9) | (d >>> 23)) + a) | 0;
    c = (c + ((d & b) | (a & ~b)) + x[o + 3] - 187363961) | 0;
    c = (((c << 14) | (c >>> 18)) + d) | 0;
    b = (b + ((c & a) | (d & ~a)) + x[o + 8] + 1163531501) | 0;
    b = (((b << 20) | (b >>> 12)) + c) | 0;
    a = (a + ((b & d) | (c & ~d)) + x[o + 13] - 1444681467) | 0;
    a = (((a << 5) | (a >>> 27)) + b) | 0;
    d = (d + ((a & c) | (b & ~c)) + x[o + 2] - 51403784) | 0;
    d = (((d << 9) | (d >>> 23)) + a) | 0;
    c = (c + ((d & b) | (a & ~b)) + x[o + 7] + 1735328473) | 0;
    c = (((c << 14) | (c >>> 18)) + d) | 0;
    b = (b + ((c & a) | (d & ~a)) + x[o + 12] - 1926607734) | 0;
    b = (((b << 20) | (b >>> 12)) + c) | 0;

    a = (a + (b ^ c ^ d) + x[o + 5] - 378558) | 0;
    a = (((a << 4) | (a >>> 28)) + b) | 0;
    d = (d + (a ^ b ^ c) + x[o + 8] - 2022574463) | 0;
    d = (((d << 11) | (d >>> 21)) + a) | 0;
    c = (c + (d ^ a ^ b) + x[o + 11] + 1839030562) | 0;
    c = (((c << 16) | (c >>> 16)) + d) | 0;
    b = (b + (c ^ d ^ a) + x[o + 14] - 35309556) | 0;
    b = (((b << 23) | (b >>> 9)) + c) | 0;
    a = (a + (b ^ c ^ d) + x[o + 1] - 1530992060) | 0;
    a = (((a << 4) | (a >>> 28)) + b) | 0;
    d = (d + (a ^ b ^ c) + x[o + 4] + 1272893353) | 0;
    d = (((d << 11) | (d >>> 21)) + a) | 0;
    c = (c + (d ^ a ^ b) + x[o + 7] - 155497632) | 0;
    c = (((c << 16) | (c >>> 16)) + d) | 0;
    b = (b + (c ^ d ^ a) + x[o + 10] - 1094730640) | 0;
    b = (((b << 23) | (b >>> 9)) + c) | 0;
    a = (a + (b ^ c ^ d) + x[o + 13] + 681279174) | 0;
    a = (((a << 4) | (a >>> 28)) + b) | 0;
    d = (d + (a ^ b ^ c) + x[o + 0] - 358537222) | 0;
    d = (((d << 11) | (d >>> 21)) + a) | 0;
    c = (c + (d ^ a ^ b) + x[o + 3] - 722521979) | 0;
    c = (((c << 16) | (c >>> 16)) + d) | 0;
    b = (b + (c ^ d ^ a) + x[o + 6] + 76029189) | 0;
    b = (((b << 23) | (b >>> 9)) + c) | 0;
    a = (a + (b ^ c ^ d) + x[o + 9] - 640364487) | 0;
    a = (((a << 4) | (a >>> 28)) + b) | 0;
    d = (d + (a ^ b ^ c) + x[o + 12] - 421815835) | 0;
    d = (((d << 11) | (d >>> 21)) + a) | 0;
    c = (c + (d ^ a ^ b) + x[o + 15] + 530742520) | 0;
    c = (((c << 16) | (c >>> 16)) + d) | 0;
    b = (b + (c ^ d ^ a) + x[o + 2] - 995338651) | 0;
    b = (((b << 23) | (b >>> 9)) + c) | 0;

    a = (a + (c ^ (b | ~d)) + x[o + 0] - 198630844) | 0;
    a = (((a << 6) | (a >>> 26)) + b) | 0;
    d = (d + (b ^ (a | ~c)) + x[o + 7] + 1126891415) | 0;
    d = (((d << 10) | (d >>> 22)) + a) | 0;
    c = (c + (a ^ (d | ~b)) + x[o + 14] - 1416354905) | 0;
    c = (((c << 15) | (c >>> 17)) + d) | 0;
    b = (b + (d ^ (c | ~a)) + x[o + 5] - 57434055) | 0;
    b = (((b << 21) | (b >>> 11)) + c) | 0;
    a = (a + (c ^ (b | ~d)) + x[o + 12] + 1700485571) | 0;
    a = (((a << 6) | (a >>> 26)) + b) | 0;
    d = (d + (b ^ (a | ~c)) + x[o + 3] - 1894986606) | 0;
    d = (((d << 10) | (d >>> 22)) + a) | 0;
    c = (c + (a ^ (d | ~b)) + x[o + 10] - 1051523) | 0;
    c = (((c << 15) | (c >>> 17)) + d) | 0;
    b = (b + (d ^ (c | ~a)) + x[o + 1] - 2054922799) | 0;
    b = (((b << 21) | (b >>> 11)) + c) | 0;
    a = (a + (c ^ (b | ~d)) + x[o + 8] + 1873313359) | 0;
    a = (((a << 6) | (a >>> 26)) + b) | 0;
    d = (d + (b ^ (a | ~c)) + x[o + 15] - 30611744) | 0;
    d = (((d << 10) | (d >>> 22)) + a) | 0;
    c = (c + (a ^ (d | ~b)) + x[o + 6] - 1560198380) | 0;
    c = (((c << 15) | (c >>> 17)) + d) | 0;
    b = (b + (d ^ (c | ~a)) + x[o + 13] + 1309151649) | 0;
    b = (((b << 21) | (b >>> 11)) + c) | 0;
    a = (a + (c ^ (b | ~d)) + x[o + 4] - 145523070) | 0;
    a = (((a << 6) | (a >>> 26)) + b) | 0;
    d = (d + (b ^ (a | ~c)) + x[o + 11] - 1120210379) | 0;
    d = (((d << 10) | (d >>> 22)) + a) | 0;
    c = (c + (a ^ (d | ~b)) + x[o + 2] + 718787259) | 0;
    c = (((c << 15) | (c >>> 17)) + d) | 0;
    b = (b + (d ^ (c | ~a)) + x[o + 9] - 343485551) | 0;
    b = (((b << 21) | (b >>> 11)) + c) | 0;

    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }

  globalThis.Md5 = Md5;
})();
