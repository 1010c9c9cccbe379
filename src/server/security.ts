import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { ConfigError } from '../core/errors.js';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and "localhost". */
export function isLoopbackHost(host: string): boolean {
  // Host names are case-insensitive (RFC 4343) and may end in the root's dot: `LOCALHOST.` is this machine too.
  const bare = host
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (bare === 'localhost') return true;
  if (!ipaddr.isValid(bare)) return false;
  const address = ipaddr.process(bare);
  return address.range() === 'loopback';
}

/** Listening anywhere but loopback hands the pipeline (and the LLM key behind it) to the network. */
export function assertSafeBinding(host: string, apiKey: string | undefined): void {
  if (isLoopbackHost(host)) return;
  if (!apiKey) {
    throw new ConfigError(
      `Refusing to listen on ${host} without an API key: anyone who can reach it could run the pipeline. ` +
        'Set JARVIS_API_KEY (or server.apiKey in the config file), or listen on 127.0.0.1.',
    );
  }
  if (apiKey.length < 16) {
    throw new ConfigError(
      'The server API key must be at least 16 characters long when listening beyond loopback.',
    );
  }
}

/** The key a request presents: `Authorization: Bearer K` (what OpenAI clients send) or `X-API-Key: K`. */
export function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  const bearer = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1] : undefined;
  return bearer ?? headers.get('x-api-key') ?? undefined;
}

export function keysEqual(presented: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A short, stable name for a key (runs are counted per key; the key itself is never stored). */
export function keyIdentity(key: string | undefined): string {
  return key ? `key-${createHash('sha256').update(key).digest('hex').slice(0, 12)}` : 'local';
}

/**
 * File URLs are signed so that `<img src>` and `<audio src>` (which cannot send headers) work when an API key
 * is required, without putting the key itself into URLs and logs. Changing the key revokes old links.
 */
export function createUrlSigner(apiKey: string | undefined): {
  sign(path: string): string;
  verify(path: string, signature: string | undefined): boolean;
} {
  if (!apiKey) return { sign: (path) => path, verify: () => true };
  const secret = createHash('sha256').update(`jarvis-file-url:${apiKey}`).digest();
  const signatureOf = (path: string) =>
    createHmac('sha256', secret).update(path).digest('base64url').slice(0, 32);
  return {
    sign: (path) => `${path}${path.includes('?') ? '&' : '?'}sig=${signatureOf(path)}`,
    verify(path, signature) {
      if (!signature) return false;
      const expected = Buffer.from(signatureOf(path));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
