import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { processIo, writeAll } from './cliIo.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe("the process's own io", () => {
  test('environment, directory, no prompt off a terminal, and data written whole', () => {
    const io = processIo();
    expect(io.env).toBe(process.env);
    expect(io.cwd).toBe(process.cwd());
    // Tests run with standard input off a terminal: confirmations and PINs need --yes and --pin.
    expect(io.prompt === undefined).toBe(process.stdin.isTTY !== true || process.stderr.isTTY !== true);
    const path = join(tempDir(), 'out.bin');
    const fd = openSync(path, 'w');
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    writeAll(fd, bytes);
    closeSync(fd);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
  });
});
