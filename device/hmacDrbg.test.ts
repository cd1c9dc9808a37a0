import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { HMAC_DRBG_MAX_REQUEST_BYTES, HmacDrbg } from './hmacDrbg.ts';
import { inspect } from 'node:util';

// NIST CAVP DRBGVS vectors (HMAC_DRBG.rsp, [SHA-256], PredictionResistance = False, no reseed,
// ReturnedBitsLen = 1024): instantiate, generate twice, the second output is ReturnedBits.
const CAVP = [
  {
    name: 'COUNT 0, no personalization',
    entropy: 'ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488',
    nonce: '659ba96c601dc69fc902940805ec0ca8',
    perso: '',
    returned:
      'e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89d54fbb978a15b5c443c9ec21036d2460' +
      'b6f73ebad0dc2aba6e624abf07745bc107694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668' +
      '961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8',
  },
  {
    name: 'COUNT 1, no personalization',
    entropy: '79737479ba4e7642a221fcfd1b820b134e9e3540a35bb48ffae29c20f5418ea3',
    nonce: '3593259c092bef4129bc2c6c9e19f343',
    perso: '',
    returned:
      'cf5ad5984f9e43917aa9087380dac46e410ddc8a7731859c84e9d0f31bd43655b924159413e2293b17610f211e09f770' +
      'f172b8fb693a35b85d3b9e5e63b1dc252ac0e115002e9bedfb4b5b6fd43f33b8e0eafb2d072e1a6fee1f159df9b51e6c' +
      '8da737e60d5032dd30544ec51558c6f080bdbdab1de8a939e961e06b5f1aca37',
  },
  {
    name: 'COUNT 0, with personalization',
    entropy: '5cacc68165a2e2ee20812f35ec73a79dbf30fd475476ac0c44fc6174cdac2b55',
    nonce: '6f885496c1e63af620becd9e71ecb824',
    perso: 'e72dd8590d4ed5295515c35ed6199e9d211b8f069b3058caa6670b96ef1208d0',
    returned:
      'f1012cf543f94533df27fedfbf58e5b79a3dc517a9c402bdbfc9a0c0f721f9d53faf4aafdc4b8f7a1b580fcaa52338d4' +
      'bd95f58966a243cdcd3f446ed4bc546d9f607b190dd69954450d16cd0e2d6437067d8b44d19a6af7a7cfa8794e5fbd72' +
      '8e8fb2f2e8db5dd4ff1aa275f35886098e80ff844886060da8b1e7137846b23b',
  },
] as const;

describe('HmacDrbg (NIST SP 800-90A §10.1.2)', () => {
  for (const v of CAVP) {
    it(`matches the CAVP vector ${v.name}`, () => {
      const drbg = new HmacDrbg(hexToBytes(v.entropy), hexToBytes(v.nonce), hexToBytes(v.perso));
      const first = drbg.generate(128);
      const second = drbg.generate(128);
      expect(Buffer.from(second).toString('hex')).toBe(v.returned);
      expect(Buffer.from(first).toString('hex')).not.toBe(v.returned);
    });
  }

  it('is deterministic for equal inputs and differs for different ones', () => {
    const a = new HmacDrbg(new Uint8Array(32).fill(1), new Uint8Array(16));
    const b = new HmacDrbg(new Uint8Array(32).fill(1), new Uint8Array(16));
    const c = new HmacDrbg(new Uint8Array(32).fill(2), new Uint8Array(16));
    const x = a.generate(77);
    expect(x).toEqual(b.generate(77));
    expect(x).not.toEqual(c.generate(77));
    expect(x.length).toBe(77);
  });

  it('changes its output after a reseed and after additional input', () => {
    const a = new HmacDrbg(new Uint8Array(32), new Uint8Array(16));
    const b = new HmacDrbg(new Uint8Array(32), new Uint8Array(16));
    b.reseed(new Uint8Array(32).fill(9));
    expect(a.generate(32)).not.toEqual(b.generate(32));
    const c = new HmacDrbg(new Uint8Array(32), new Uint8Array(16));
    const d = new HmacDrbg(new Uint8Array(32), new Uint8Array(16));
    expect(c.generate(32, Uint8Array.of(1))).not.toEqual(d.generate(32));
  });

  it('refuses oversized requests (SP 800-90A Table 2)', () => {
    const drbg = new HmacDrbg(new Uint8Array(32), new Uint8Array(16));
    expect(() => drbg.generate(HMAC_DRBG_MAX_REQUEST_BYTES + 1)).toThrow(RangeError);
    expect(() => drbg.generate(-1)).toThrow(RangeError);
  });

  it('never prints its state', () => {
    const drbg = new HmacDrbg(new Uint8Array(32).fill(0xab), new Uint8Array(16));
    expect(String(drbg)).toBe('HmacDrbg(SHA-256)');
    expect(inspect(drbg, { showHidden: true, depth: 9 })).toBe('HmacDrbg(SHA-256)');
    expect(JSON.stringify(drbg)).toBe('{"kind":"HMAC_DRBG-SHA256"}');
  });
});
