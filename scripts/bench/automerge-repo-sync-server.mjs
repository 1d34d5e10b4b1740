// The stock automerge-repo sync server, for side-by-side benchmarks: what the npm package
// `@automerge/automerge-repo-sync-server` runs (a Repo with NodeWSServerAdapter on a `ws`
// WebSocketServer, NodeFSStorageAdapter, peer id `storage-server-<hostname>`, and
// `sharePolicy: async () => false`: nothing is announced, peers ask for documents) without
// express, which only serves a static page there. Nothing of Ruta's.
//
// usage: node automerge-repo-sync-server.mjs --dir DATA [--listen 127.0.0.1:0]
// The first stdout line is `automerge-repo-sync-server listening on http://ADDR` (the same
// announcement Ruta's binaries print). SIGTERM/SIGINT stop it after flushing the repo.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { Repo } from '@automerge/automerge-repo';
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket';
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:0' },
  },
});
if (!args.dir) {
  console.error('usage: node automerge-repo-sync-server.mjs --dir DATA [--listen HOST:PORT]');
  process.exit(2);
}
fs.mkdirSync(args.dir, { recursive: true });

const wsServer = new WebSocketServer({ noServer: true });
const repo = new Repo({
  network: [new NodeWSServerAdapter(wsServer)],
  storage: new NodeFSStorageAdapter(args.dir),
  peerId: `storage-server-${os.hostname()}`,
  sharePolicy: async () => false,
});

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('automerge-repo sync server is running\n');
});
server.on('upgrade', (request, socket, head) => {
  wsServer.handleUpgrade(request, socket, head, (ws) => {
    wsServer.emit('connection', ws, request);
  });
});

const sep = args.listen.lastIndexOf(':');
server.listen(Number(args.listen.slice(sep + 1)), args.listen.slice(0, sep), () => {
  const { address, port } = server.address();
  console.log(`automerge-repo-sync-server listening on http://${address}:${port}`);
});

async function stop() {
  server.close();
  wsServer.close();
  await repo.flush().catch(() => {});
  await repo.shutdown().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
