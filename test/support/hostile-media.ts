/**
 * Small files whose headers lie about what decoding them would cost: a PNG of a few hundred bytes that
 * declares 16000×16000 pixels, a WAV of a few bytes that declares 4 GHz. Written by hand so that the tests
 * build them in microseconds, where encoding a real 256-megapixel image would itself take the memory the
 * limits are there to save.
 */
import { crc32, deflateSync } from 'node:zlib';

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, checksum]);
}

/**
 * A greyscale PNG whose header declares `width`×`height`; its image data is one row of zeros, so a decoder
 * that trusted the header would allocate the whole image before finding the data short.
 */
export function pngDeclaring(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1 + Math.min(width, 4096)))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface WavDeclaration {
  sampleRate?: number;
  channels?: number;
  bits?: number;
  /** 1 = PCM, 3 = float. */
  format?: number;
  /** The data chunk's declared size; defaults to the bytes actually given. */
  declaredDataBytes?: number;
  /** Bytes of sample data actually present. */
  dataBytes?: number;
}

/** A WAV file with the header values given, whatever they are. */
export function wavDeclaring(declaration: WavDeclaration = {}): Buffer {
  const { sampleRate = 16_000, channels = 1, bits = 16, format = 1, dataBytes = 3_200 } = declaration;
  const declared = declaration.declaredDataBytes ?? dataBytes;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE((36 + declared) >>> 0, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate >>> 0, 24);
  header.writeUInt32LE(((sampleRate * channels * bits) / 8) >>> 0, 28);
  header.writeUInt16LE(((channels * bits) / 8) & 0xffff, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(declared >>> 0, 40);
  return Buffer.concat([header, Buffer.alloc(dataBytes)]);
}
