/**
 * A key-store flash image written by the layout-version-1 code (commit 86d33cc, before the CRC-5
 * record check), kept to test that stores already in the field still mount with all their keys.
 *
 * Made by `KeyStore.format` then 160 steps on four 1 KiB sectors (`{ sectors: [0, 1, 2, 3], maxFill:
 * 1 }`, flash geometry [1024 x 4], strict, fault seed 31): `SeededPrng(31)` picks an ID in 0..29, deletes it
 * one time in five, else puts a 16-, 24- or 32-byte key. The image (`Flash.toImage`, base64) holds
 * three used sectors after compactions and one erased; {@link KEY_STORE_V1_KEYS} is what the store
 * held.
 *
 * Test support only: not part of the package.
 * @module
 */

/** `Flash.toImage` of the version-1 store, base64 in lines of 100 characters. */
export const KEY_STORE_V1_IMAGE: readonly string[] = [
  'U0VLRkxTSDEBAAAABAEEABAnAAAABAAAAQAAAAAAAAAABAAAAQAAAAAAAAAABAAAAQAAAAEAAAAABAAAAAAAAAAAAABTS1MxAQQZ',
  'AAAA//8BAAAABQAAAAEAAAACAAAAAQAAAAAAAAAAAAAAAAAAAJL/J6JmU5RY////////////////RcQpVc/A0TjDyF/RRkwgxNFT',
  '3t5Jzs5AtP///wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB0AAADQFgxI4TnsRXMWlrxtxAgw////////////',
  '////////EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAABIAAAB0JLN3YBtEjvBB4eHjhS2f////////////////////EA0AAADxcd8wuMywVMh8B2J79mdN////////////////////',
  'EAEAAABLRbeeaTmF+ydyILiT/MTTAh+Pj1bQ7b//////////GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABgA',
  'AAB7y4fHEORCPYsdenHvhzwz////////////////////EAIAAADNo9E1U991zuFRku2tkYwp////////////////////EAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAkAAABheTVUZzfkkDBidJ2khQBgR7PM1Yzs3fr/////////GAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABYAAACggD6CdEk8Qq9qKbq5ERbJV1i8YFZmvyb/////////GAwAAACVC+ppjFf7Sdwu',
  'm76Ve1Ur0k8ljKEWabf/////////GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAADgXopTFm6ThSeicdAq',
  'xMRk////////////////////EAsAAACdvJl8zP0EUyxEf15kpIPc////////////////////EAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAgAAADEvVvE4emg9XTmHgvPds2IelqHyaQakMz/////////GBkAAADgzdYh3SgP8tcbYmakfgTZ////',
  '////////////////EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABwAAAByOSFWjOT3paconVTYbq6CyDLAJ3L3',
  'wxjIn9nSeHLaj///////////////////////////////////////////U0tTMQEEGQABAf//AQAAAAYAAAACAAAAAwAAAAEAAAAB',
  'AAAAAAAAAAAAAADXxXSXhYkAYP///////////////8Oj0sH///////////////////////////////8AAAAAkeAmueSQP1+dvJ6q',
  'dcsw5P///////////////////xAGAAAAv5Ud0WCjLbpwj6gDWHWjaHYr3UjO0FpZVFoM1G7WaGUEAAAAOX9Jvewafb/yOASjHvF6',
  '+prmNojeFe6I/////////xgaAAAA2Sx+/0i81Z/fNFIn2quegf18wnNbJXkS/////////xj/////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '////////////////////////////////////////////////////////////////////////////////////////////////////',
  '/////////////////////1NLUzEBBBkAAwP//wEAAAAEAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAfr3EgcTetGT/////////',
  '//////9GWcheVd8sU05USNFMTy1Q2idFRUA30086////AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQAAAIBEXOja+WG3sduWNUEkJwyOO80KfhqOQ/////////8YAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGwAAAG+ks0R9Dcwk',
  '3BXn7ArhKRtBFPd46q5NXP////////8YAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFQAAAJCezRHEFmljRLyb7uLoHIqQ',
  '5WwU0oErNP////////8YAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAADwAAAO6LNRar7Iib0bH2RzAsKNb///////////////////8QAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'EAAAAEzUAy0mLG/KSbFDHIHo7O9rspUqhGLYTf////////8YAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA//////////////////////////////////////////+PE98a',
];

/** Key ID → key material (hex) the version-1 store held. */
export const KEY_STORE_V1_KEYS: Readonly<Record<number, string>> = {
  0: '91e026b9e4903f5f9dbc9eaa75cb30e4',
  1: '4b45b79e693985fb277220b893fcc4d3021f8f8f56d0edbf',
  2: 'cda3d13553df75cee15192edad918c29',
  3: 'e05e8a53166e938527a271d02ac4c464',
  4: '397f49bdec1a7dbff23804a31ef17afa9ae63688de15ee88',
  5: '80445ce8daf961b7b1db96354124270c8e3bcd0a7e1a8e43',
  6: 'bf951dd160a32dba708fa8035875a368762bdd48ced05a59545a0cd46ed66865',
  8: 'c4bd5bc4e1e9a0f574e61e0bcf76cd887a5a87c9a41a90cc',
  9: '617935546737e4903062749da485006047b3ccd58cecddfa',
  11: '9dbc997cccfd04532c447f5e64a483dc',
  12: '950bea698c57fb49dc2e9bbe957b552bd24f258ca11669b7',
  13: 'f171df30b8ccb054c87c07627bf6674d',
  15: 'ee8b3516abec889bd1b1f647302c28d6',
  16: '4cd4032d262c6fca49b1431c81e8ecef6bb2952a8462d84d',
  18: '7424b377601b448ef041e1e1e3852d9f',
  21: '909ecd11c416696344bc9beee2e81c8a90e56c14d2812b34',
  22: 'a0803e8274493c42af6a29bab91116c95758bc605666bf26',
  24: '7bcb87c710e4423d8b1d7a71ef873c33',
  25: 'e0cdd621dd280ff2d71b6266a47e04d9',
  26: 'd92c7eff48bcd59fdf345227daab9e81fd7cc2735b257912',
  27: '6fa4b3447d0dcc24dc15e7ec0ae1291b4114f778eaae4d5c',
  28: '723921568ce4f7a5a7289d54d86eae82c832c02772f7c318c89fd9d27872da8f',
  29: 'd0160c48e139ec45731696bc6dc40830',
};

/** Store options the image was written with. */
export const KEY_STORE_V1_OPTIONS = { sectors: [0, 1, 2, 3], maxFill: 1 } as const;
