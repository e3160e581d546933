/**
 * Files operators write (discovery settings, discovery record files, the configuration file)
 * are UTF-8. Node's usual decoding turns bytes that are not into U+FFFD without a word, so a
 * Latin-1 `é` in a header value or a display name would be stored as garbage; these files are
 * decoded strictly instead, and the error says where the first bad byte is.
 */

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

/** Thrown for bytes that are not UTF-8; the message says where (line, column, byte offset). */
export class NotUtf8Error extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'NotUtf8Error';
  }
}

/** The text of `bytes` (a UTF-8 byte order mark dropped), or NotUtf8Error naming the first bad byte. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    // Only on failure: find where, for the message.
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new NotUtf8Error('not UTF-8: it starts with a UTF-16 byte order mark (save it as UTF-8)', 1, 1, 0);
  }
  const offset = firstInvalidUtf8Byte(bytes);
  const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
  // Everything before `offset` is valid UTF-8: its characters count the column.
  const column = [...fatalDecoder.decode(bytes.subarray(lineStart, offset))].length + 1;
  const byte = `0x${(bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
  throw new NotUtf8Error(`not UTF-8: byte ${byte} at line ${line}, column ${column} (byte offset ${offset}); save the file as UTF-8`, line, column, offset);
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let length: number;
    let min: number; // smallest second byte (rules out overlong forms and surrogates)
    let max: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [length, min, max] = [2, 0x80, 0xbf];
    else if (b === 0xe0) [length, min, max] = [3, 0xa0, 0xbf];
    else if (b === 0xed) [length, min, max] = [3, 0x80, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) [length, min, max] = [3, 0x80, 0xbf];
    else if (b === 0xf0) [length, min, max] = [4, 0x90, 0xbf];
    else if (b === 0xf4) [length, min, max] = [4, 0x80, 0x8f];
    else if (b >= 0xf1 && b <= 0xf3) [length, min, max] = [4, 0x80, 0xbf];
    else return i;
    if (i + length > bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < min || second > max) return i;
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k]!;
      if (next < 0x80 || next > 0xbf) return i;
    }
    i += length;
  }
  return bytes.length;
}
