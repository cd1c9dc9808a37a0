/**
 * Whether a span of NOR flash reads as erased: every byte 0xFF (RM0090 §3.5.3: "the erased value is
 * 0xFF"). Recovery and formatting ask this of whole 128 KiB sectors on every boot of every device,
 * so it compares 32-bit words where the span is aligned instead of calling a closure per byte.
 * @module
 */

/** True when every byte of `bytes` is 0xFF. */
export function isErased(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  if (bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 2);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0xffffffff) return false;
    i = words.length * 4;
  }
  for (; i < n; i++) if (bytes[i] !== 0xff) return false;
  return true;
}
