// RFC 6455 §5.3 as written, for tests to check faster masking against: byte i XOR key[i mod 4].

/** `data` unmasked (or masked: the same operation) with the 4-byte `key`, one byte at a time. */
export function unmaskReference(data: Buffer, key: Buffer): Buffer {
  return Buffer.from(data.map((b, i) => b ^ key[i & 3]!));
}
