// An MCP server (stdio, newline-delimited JSON-RPC written by hand, so that it can break the protocol) whose
// tools misbehave on purpose: `crash` exits mid-call, `hang` never answers, the `bad-*` tools return
// malformed content. `node misbehaving-server.mjs fail-start` dies before the handshake, as a server missing
// its credentials does.
import { createInterface } from 'node:readline';

if (process.argv[2] === 'fail-start') {
  process.stderr.write('error: MISBEHAVING_TOKEN is not set\n');
  process.exit(2);
}

const tools = [
  ...['ok', 'crash', 'hang', 'bad-base64', 'bad-mime', 'not-a-list', 'tool-error'].map((name) => ({
    name,
    description: `misbehaves: ${name}`,
    inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
  })),
  {
    name: 'image-size',
    description: 'behaves: the size of a base64 image',
    inputSchema: {
      type: 'object',
      properties: { image: { type: 'string', description: 'the picture, base64' } },
      required: ['image'],
    },
  },
];

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const text = (value) => ({ content: [{ type: 'text', text: value }] });

const results = {
  ok: (args) => text(`fine: ${args.text ?? ''} (pid ${process.pid})`),
  'bad-base64': () => ({ content: [{ type: 'image', data: '%%% not base64 %%%', mimeType: 'image/png' }] }),
  'bad-mime': () => ({ content: [{ type: 'image', data: 'aGVsbG8=', mimeType: 'text/plain' }] }),
  'not-a-list': () => ({ content: 'oops' }),
  'tool-error': () => ({ ...text('the tool broke'), isError: true }),
  'image-size': (args) => text(`bytes: ${Buffer.from(args.image, 'base64').length}`),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  switch (message.method) {
    case 'initialize':
      send({
        id: message.id,
        result: {
          protocolVersion: message.params.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'misbehaving', version: '1.0.0' },
        },
      });
      return;
    case 'tools/list':
      send({ id: message.id, result: { tools } });
      return;
    case 'tools/call': {
      const name = message.params.name;
      if (name === 'crash') {
        process.stderr.write('panic: crashed on purpose\n');
        process.exit(3);
      }
      if (name === 'hang') return;
      send({ id: message.id, result: results[name](message.params.arguments ?? {}) });
      return;
    }
    default:
      send({ id: message.id, error: { code: -32601, message: `no method ${message.method}` } });
  }
});
